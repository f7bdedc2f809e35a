"""The image condition entry point: train images only
(never the FID reference), one map per image."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from condpdiff.conditions.condition import load_condition
from condpdiff.image.styles import encode_condition
from condpdiff.image.styles.encode_condition import describe_images
from condpdiff.image.styles.splitfile import StyleSplitFile

FLAGS = ["--weights", "random", "--image-size", "32"]


def write_png(path: Path, h: int, w: int, seed: int) -> Path:
    from PIL import Image

    rgb = np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)
    Image.fromarray(rgb).save(path)
    return path


@pytest.fixture
def split(tmp_path) -> Path:
    """A style with three small train images of different sizes and two CORRUPT reference images."""
    train = [write_png(tmp_path / f"train{i}.png", 24 + 8 * i, 40 - 4 * i, i) for i in range(3)]
    reference = []
    for i in range(2):
        reference.append(tmp_path / f"ref{i}.png")
        reference[-1].write_bytes(b"not an image: reading me is a leak")
    path = tmp_path / "split.json"
    StyleSplitFile(
        "stl-07",
        str(tmp_path),
        0,
        [{"path": str(p), "caption": f"cap {p.stem}"} for p in train],
        [{"path": str(p), "caption": "held out"} for p in reference],
        ["a prompt"],
    ).save(path)
    return path


def test_encodes_train_images_only(split, tmp_path, monkeypatch):
    import PIL.Image

    opened, real_open = [], PIL.Image.open

    def spy(fp, *args, **kwargs):
        opened.append(Path(fp).name)
        return real_open(fp, *args, **kwargs)

    monkeypatch.setattr(PIL.Image, "open", spy)
    out = tmp_path / "cond.safetensors"
    encode_condition.main(
        ["--split", str(split), "--out", str(out), "--condition", "resnet18-image", *FLAGS]
    )
    assert opened == [
        "train0.png",
        "train1.png",
        "train2.png",
    ]  # the reference images are never opened
    cond = load_condition(out)
    assert cond.embedding.shape == (3, 128, 4, 4) and cond.embedding.dtype == torch.float32
    assert cond.projection == "conv" and cond.task == "stl-07" and cond.name == "resnet18-image"
    assert cond.encoder == "resnet18:random init (seed 0): no pretrained weights available:layer2"
    assert cond.text == "3 train images: train0.png, train1.png, train2.png"


def test_same_inputs_same_bytes_and_settings_apply(split, tmp_path):
    a, b, c = (tmp_path / f"{n}.safetensors" for n in "abc")
    for out in (a, b):
        encode_condition.main(
            ["--split", str(split), "--out", str(out), "--condition", "resnet18-image", *FLAGS]
        )
    assert a.read_bytes() == b.read_bytes()
    encode_condition.main(
        [
            "--split",
            str(split),
            "--out",
            str(c),
            "--condition",
            "img",
            "--weights",
            "random",
            "--seed",
            "4",
            "--layer",
            "layer3",
            "--image-size",
            "64",
        ]
    )
    cond = load_condition(c)
    assert cond.embedding.shape == (3, 256, 4, 4) and cond.encoder.endswith(
        "(seed 4): no pretrained weights available:layer3"
    )


def test_unreadable_train_image_is_named(split, tmp_path):
    (tmp_path / "train1.png").write_bytes(b"truncated")
    with pytest.raises(ValueError, match=r"train1\.png: not a readable train image"):
        encode_condition.main(
            [
                "--split",
                str(split),
                "--out",
                str(tmp_path / "c.safetensors"),
                "--condition",
                "resnet18-image",
                *FLAGS,
            ]
        )
    assert not (tmp_path / "c.safetensors").exists()


def test_condition_text_stays_short():
    names = [Path(f"/x/img{i:02d}.jpg") for i in range(20)]
    text = describe_images(names)
    assert text.startswith("20 train images: img00.jpg, ") and text.endswith("img07.jpg, ... (+12)")
