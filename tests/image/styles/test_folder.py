"""Style folders: listing, verification and the held-out FID reference split."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from condpdiff.image.styles.folder import StyleSplit, list_images, split_style, split_style_folder


def _write(folder, n, ext="png"):
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for i in range(n):
        Image.fromarray(rng.integers(0, 255, (8, 8, 3), dtype=np.uint8)).save(
            folder / f"img{i:02d}.{ext}"
        )
    return folder


def test_list_images_sorted_and_filtered(tmp_path):
    folder = _write(tmp_path / "style", 3)
    _write(folder, 1, ext="jpg")
    (folder / "notes.txt").write_text("not an image")
    names = [p.name for p in list_images(folder)]
    assert names == sorted(names) and len(names) == 4 and "notes.txt" not in names


def test_corrupt_image_named(tmp_path):
    folder = _write(tmp_path / "style", 2)
    (folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    with pytest.raises(ValueError, match="broken.png"):
        list_images(folder)


def test_truncated_image_named(tmp_path):
    folder = _write(tmp_path / "style", 1)
    Image.fromarray(np.zeros((64, 64, 3), np.uint8) + 7).save(folder / "cut.jpg")
    data = (folder / "cut.jpg").read_bytes()
    (folder / "cut.jpg").write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="cut.jpg"):
        list_images(folder)


def test_empty_and_short_folder(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ValueError, match=r"empty: needs at least 1 images.*found 0"):
        list_images(empty)
    with pytest.raises(ValueError, match="no such folder"):
        list_images(tmp_path / "missing")
    short = _write(tmp_path / "short", 3)
    with pytest.raises(ValueError, match=r"short: needs at least 5 images.*found 3"):
        split_style_folder(short, StyleSplit(n_reference=4))
    with pytest.raises(ValueError, match=r"needs 5 images \(4 reference \+ 1 train\), found 3"):
        split_style(list_images(short), n_reference=4, seed=0)


def test_split_disjoint_and_deterministic(tmp_path):
    files = list_images(_write(tmp_path / "s", 12))
    train, ref = split_style(files, n_reference=4, seed=3)
    assert len(ref) == 4 and len(train) == 8
    assert not set(train) & set(ref) and set(train) | set(ref) == set(files)
    assert split_style(list(reversed(files)), 4, 3) == (train, ref)  # input order does not matter
    assert any(split_style(files, 4, s)[1] != ref for s in range(4, 10))  # the seed does
    with pytest.raises(ValueError, match="more than once"):
        split_style(files + files[:1], 4, 3)
    with pytest.raises(ValueError, match="n_reference"):
        split_style(files, 0, 3)
