"""build_base + pretrain_base end to end on a tiny PixArt:
a loadable pipeline folder, NaN stops it."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
import torch

from condpdiff.image.base import build_base
from condpdiff.image.base import latents as lt
from condpdiff.image.base import pixart as px
from condpdiff.image.base import pretrain_base as pb
from condpdiff.pipeline.artifacts import NonFiniteError

FLAGS = [
    "--num-layers",
    "1",
    "--num-heads",
    "2",
    "--head-dim",
    "8",
    "--sample-size",
    "4",
    "--vae-channels",
    "16",
    "32",
]
FAST = [
    "--vae-steps",
    "3",
    "--steps",
    "4",
    "--batch-size",
    "4",
    "--vae-batch-size",
    "4",
    "--views",
    "2",
    "--max-length",
    "16",
    "--threads",
    "1",
    "--device",
    "cpu",
]


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    """A built tiny base (8 px images) and a folder of 5 captioned images
    (non-square: random crops)."""
    from PIL import Image

    root = tmp_path_factory.mktemp("pretrain")
    build_base.main(["--out", str(root / "base"), "--seed", "1", *FLAGS])
    images = root / "content"
    images.mkdir()
    rng = np.random.default_rng(0)
    for i in range(5):
        Image.fromarray((rng.random((10, 13, 3)) * 255).astype("uint8")).save(images / f"c_{i}.png")
    (images / "captions.json").write_text(
        json.dumps({f"c_{i}.png": f"photo {i % 2}" for i in range(5)})
    )
    return root / "base", images


def test_build_base_is_seeded_and_loadable(inputs, tmp_path):
    base, _ = inputs
    build_base.main(["--out", str(tmp_path / "again"), "--seed", "1", *FLAGS])
    a, b = (px.load_components(str(f))["transformer"] for f in (base, tmp_path / "again"))
    assert a.config.num_layers == 1 and a.config.sample_size == 4
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))


def test_pretrain_writes_a_loadable_pipeline(inputs, tmp_path):
    base, images = inputs
    out = tmp_path / "pretrained"
    pb.main(["--base", str(base), "--images", str(images), "--out", str(out), *FAST])
    comps = px.load_components(str(out))
    before = px.load_components(str(base))
    assert not torch.equal(
        comps["transformer"].proj_out.weight, before["transformer"].proj_out.weight
    )
    assert comps["vae"].config.scaling_factor != before["vae"].config.scaling_factor
    with open(out / "curve.csv") as f:
        rows = list(csv.DictReader(f))
    assert [r["phase"] for r in rows] == ["vae"] * 3 + ["transformer"] * 4
    summary = json.loads((out / "summary.json").read_text())
    assert (
        summary["n_images"] == 5 and summary["n_views"] == 5 * 2 * 2 and summary["resolution"] == 8
    )
    image = px.make_pipeline(comps)(
        "photo 1",
        num_inference_steps=2,
        height=8,
        width=8,
        use_resolution_binning=False,
        clean_caption=False,
        output_type="np",
        max_sequence_length=16,
        generator=torch.Generator().manual_seed(0),
    ).images
    assert image.shape == (1, 8, 8, 3) and np.isfinite(image).all()


def test_nan_loss_raises_and_writes_nothing(inputs, tmp_path, monkeypatch):
    base, images = inputs
    monkeypatch.setattr(
        lt, "diffusion_loss", lambda *a, **k: torch.tensor(float("nan"), requires_grad=True)
    )
    with pytest.raises(NonFiniteError, match="transformer: loss is nan at step 1"):
        pb.main(
            ["--base", str(base), "--images", str(images), "--out", str(tmp_path / "out"), *FAST]
        )
    assert not (tmp_path / "out").exists()
    with pytest.raises(NonFiniteError, match="vae: loss is"):  # a diverging VAE stops it as well
        pb.main(
            [
                "--base",
                str(base),
                "--images",
                str(images),
                "--out",
                str(tmp_path / "out"),
                *FAST,
                "--vae-lr",
                "1e30",
            ]
        )
    assert not (tmp_path / "out").exists()


def test_folder_without_captions_named(inputs, tmp_path):
    base, _ = inputs
    with pytest.raises(FileNotFoundError, match="captions.json"):
        pb.main(
            ["--base", str(base), "--images", str(tmp_path), "--out", str(tmp_path / "out"), *FAST]
        )
