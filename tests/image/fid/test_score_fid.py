"""FID from cached features: the features file, score caches in the text scorer's format that
evaluate.cells turns into cells unchanged, and selection that never reads reference images."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

from condpdiff.evaluate import cells
from condpdiff.image.base import pixart as px
from condpdiff.image.base.prompts import encode
from condpdiff.image.fid import extract_features as ef
from condpdiff.image.fid import score_fid as sf
from condpdiff.image.fid.extractors import TEST_EXTRACTOR, compute_fid
from condpdiff.image.fid.features import (
    Extractor,
    FeatureSet,
    fid_between,
    load_features,
    resize_and_crop,
)
from condpdiff.image.generation import generate_images as gi
from condpdiff.image.styles.splitfile import StyleSplitFile
from condpdiff.params.paramfile import ParamSet, flatten
from condpdiff.pipeline.artifacts import SCORES_FORMAT, ArtifactError
from condpdiff.util.ranking import selected_row

PROMPTS = ["a red cat", "a blue house", "a tree"]
N = 6


def _png_set(folder, n, kind, seed, size=(20, 24)):
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for i in range(n):
        if kind == "noise":
            a = rng.integers(0, 256, (*size, 3))
        else:
            a = np.tile(
                (np.arange(size[1])[None, :, None] * rng.uniform(4, 12) + rng.uniform(0, 255))
                % 256,
                (size[0], 1, 3),
            )
        Image.fromarray(a.astype(np.uint8)).save(folder / f"{i:02d}.png")
    return sorted(folder.glob("*.png"))


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("fid")
    pipe = px.build_tiny_pipeline(px.TinyPixArtConfig(), seed=0)
    pipe.save_pretrained(root / "base")
    encode(pipe.text_encoder, pipe.tokenizer, PROMPTS, 120).save(root / "prompts.safetensors")
    entry = lambda p, i: {"path": str(p), "caption": PROMPTS[i % 3]}  # noqa: E731
    train = [entry(p, i) for i, p in enumerate(_png_set(root / "train", N, "stripes", 0))]
    ref = [entry(p, i) for i, p in enumerate(_png_set(root / "ref", N, "stripes", 1))]
    StyleSplitFile("toy", str(root), 3, train, ref, PROMPTS).save(root / "split.json")
    transformer = px.add_lora(pipe.transformer, px.LoraSpec(1))
    layout = px.lora_layout(transformer)
    g = torch.Generator().manual_seed(1)
    rows = [
        flatten(
            {n: torch.randn(s, generator=g) * (0.6 if ".lora_B." in n else 1.0) for n, s in layout},
            layout,
        )
        for _ in range(4)
    ]
    ParamSet(
        params=torch.stack(rows),
        layout=layout,
        steps=torch.arange(4) + 1,
        loss=torch.zeros(4),
        info={"backbone": "tiny", "rank": 1},
    ).save(root / "cands.safetensors")
    common = [
        "--base",
        str(root / "base"),
        "--prompts",
        str(root / "prompts.safetensors"),
        "--split",
        str(root / "split.json"),
        "--n-images",
        str(N),
        "--steps",
        "2",
        "--batch-size",
        str(N),
        "--resolution",
        "16",
        "--threads",
        "1",
        "--device",
        "cpu",
        "--extractor",
        TEST_EXTRACTOR,
    ]
    lora = ["--params", str(root / "cands.safetensors"), "--rank", "1", "--alpha", "8"]
    gi.main([*common, *lora, "--out", str(root / "cands_f.safetensors")])
    gi.main([*common, *lora, "--soup", "3", "--out", str(root / "soup_f.safetensors")])
    for part in ("train", "reference"):
        ef.main(
            [
                "--split",
                str(root / "split.json"),
                "--part",
                part,
                "--resolution",
                "16",
                "--extractor",
                TEST_EXTRACTOR,
                "--device",
                "cpu",
                "--out",
                str(root / f"{part}.safetensors"),
            ]
        )
    return root


def _score(root, features, against, split, out, *extra):
    sf.main(
        [
            "--features",
            str(root / features),
            "--against",
            str(root / against),
            "--split",
            split,
            "--out",
            str(root / out),
            *extra,
        ]
    )
    return json.loads((root / out).read_text())


def test_fid_of_feature_sets(tmp_path):
    a, b, c = (
        _png_set(tmp_path / k, 12, kind, s)
        for k, kind, s in (("a", "stripes", 0), ("b", "stripes", 1), ("c", "noise", 2))
    )
    ext = Extractor(TEST_EXTRACTOR)
    fa, fb, fc = (ext.extract(ef.load_images(p, 20), 5) for p in (a, b, c))
    assert fa.shape == (12, 16) and fa.dtype == torch.float32
    assert abs(fid_between(fa, fa.clone())) < 1e-3
    assert fid_between(fa, fc) > 10 * max(fid_between(fa, fb), 1e-3)
    # the same numbers as torch-fidelity's folder-to-folder FID (20 x 24 images, no resize there)
    fa24 = ext.extract(
        torch.cat(
            [
                torch.from_numpy(np.asarray(Image.open(p).convert("RGB"))).permute(2, 0, 1)[None]
                for p in a
            ]
        )
    )
    fc24 = ext.extract(
        torch.cat(
            [
                torch.from_numpy(np.asarray(Image.open(p).convert("RGB"))).permute(2, 0, 1)[None]
                for p in c
            ]
        )
    )
    assert fid_between(fa24, fc24) == pytest.approx(
        compute_fid(tmp_path / "a", tmp_path / "c", TEST_EXTRACTOR), rel=1e-4
    )


def test_resize_and_crop():
    x = torch.randint(0, 256, (2, 3, 20, 30), dtype=torch.uint8)
    y = resize_and_crop(x, 10)
    assert y.shape == (2, 3, 10, 10) and y.dtype == torch.uint8
    assert torch.equal(resize_and_crop(y, 10), y)


def test_features_file_is_strict(world, tmp_path):
    fs = load_features(world / "cands_f.safetensors")
    assert (
        fs.features.shape == (4, N, 16)
        and fs.info["rows"] == [0, 1, 2, 3]
        and fs.info["kind"] == "generated"
    )
    real = load_features(world / "train.safetensors")
    assert (
        real.features.shape == (1, N, 16)
        and real.info["part"] == "train"
        and real.info["split_seed"] == 3
    )
    with pytest.raises(ArtifactError, match=r"cands\.safetensors: not a image features file"):
        load_features(world / "cands.safetensors")
    with pytest.raises(ValueError, match="99 images"):
        FeatureSet(real.features, {**real.info, "n_images": 99})


def test_cells_from_fid_caches(world):
    sel = _score(world, "cands_f.safetensors", "train.safetensors", "selection", "sel.json")
    assert (
        sel["format"] == SCORES_FORMAT
        and sel["metric"] == "fid"
        and sel["higher_is_better"] is False
    )
    assert sel["task"] == "toy" and sel["n_rows"] == 4 and sel["head"] is None
    assert sel["splits"]["selection"] == {
        "n_examples": N,
        "from": "train",
        "seed": 3,
        "pool": "train",
        "n_generated": N,
    }
    values = [r["score"] for r in sel["scores"]["selection"]]
    assert len(set(values)) == 4 and all(v > 0 for v in values)  # the rows' images differ
    dev = _score(
        world,
        "cands_f.safetensors",
        "reference.safetensors",
        "dev",
        "dev.json",
        "--best-of",
        str(world / "sel.json"),
    )
    cell = cells.generated_cell(dev, sel)
    assert cell["selected_row"] == selected_row(sel) == int(np.argmin(values))  # lower FID wins
    assert cell["score"] == dev["scores"]["dev"][0]["fid"] and cell["higher_is_better"] is False
    harvest = _score(world, "cands_f.safetensors", "reference.safetensors", "dev", "harvest.json")
    orig = cells.original_cell(harvest, 2)
    last_two = [r["score"] for r in harvest["scores"]["dev"][-2:]]
    assert orig["score"] == min(last_two) and orig["n_scored"] == 2
    soup = cells.soup_cell(
        _score(world, "soup_f.safetensors", "reference.safetensors", "dev", "soup.json")
    )
    assert soup["n"] == 3 and soup["metric"] == "fid"
    (world / "gen_cell.json").write_text(json.dumps(cell))
    cross = cells.cross_cell(
        _score(
            world,
            "cands_f.safetensors",
            "reference.safetensors",
            "dev",
            "cross.json",
            "--row-from",
            str(world / "gen_cell.json"),
        )
    )
    assert cross["selected_row"] == cell["selected_row"] and cross["score"] == cell["score"]


def test_image_cell_recomputed_from_cached_features(world, monkeypatch):
    def no_model(*a, **k):
        raise AssertionError("a scoring job loaded the PixArt pipeline")

    for mod, name in (
        (px, "load_components"),
        (px, "make_pipeline"),
        (px, "build_tiny_pipeline"),
        (gi, "load_pipeline"),
    ):
        monkeypatch.setattr(mod, name, no_model)
    _score(world, "cands_f.safetensors", "train.safetensors", "selection", "sel2.json")
    _score(
        world,
        "cands_f.safetensors",
        "reference.safetensors",
        "dev",
        "dev2.json",
        "--best-of",
        str(world / "sel2.json"),
    )
    cells.main(
        [
            "generated",
            "--scores",
            str(world / "dev2.json"),
            "--selection",
            str(world / "sel2.json"),
            "--out",
            str(world / "generated.json"),
        ]
    )
    cell = json.loads((world / "generated.json").read_text())
    dev = load_features(world / "cands_f.safetensors").row(cell["selected_row"])
    assert cell["score"] == pytest.approx(
        fid_between(dev, load_features(world / "reference.safetensors").row(0))
    )


def test_selection_never_reads_reference_images(world):
    with pytest.raises(
        ArtifactError, match=r"reference\.safetensors: wrong real images for the selection split"
    ):
        _score(world, "cands_f.safetensors", "reference.safetensors", "selection", "x.json")
    with pytest.raises(ArtifactError, match="wrong real images for the dev split"):
        _score(world, "cands_f.safetensors", "train.safetensors", "dev", "x.json")
    assert not (world / "x.json").exists()


def test_incomparable_features_refused(world, tmp_path):
    real = load_features(world / "reference.safetensors")
    FeatureSet(real.features, {**real.info, "resolution": 32}).save(tmp_path / "r32.safetensors")
    with pytest.raises(ArtifactError, match="not comparable"):
        sf.main(
            [
                "--features",
                str(world / "cands_f.safetensors"),
                "--against",
                str(tmp_path / "r32.safetensors"),
                "--split",
                "dev",
                "--out",
                str(tmp_path / "x.json"),
            ]
        )
