"""generate_images on a tiny PixArt saved in tmp: same seeds -> same features for the same
weights (LoRA rows and the no-LoRA arm alike), the grid, row choice, and clear errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from condpdiff.image.base import pixart as px
from condpdiff.image.base.prompts import encode
from condpdiff.image.fid.extractors import TEST_EXTRACTOR
from condpdiff.image.fid.features import load_features
from condpdiff.image.generation import generate_images as gi
from condpdiff.image.styles.splitfile import StyleSplitFile
from condpdiff.params.paramfile import ParamSet, flatten
from condpdiff.pipeline.artifacts import ArtifactError

PROMPTS = ["a red cat", "a blue house"]
GEN = [
    "--n-images",
    "4",
    "--steps",
    "2",
    "--batch-size",
    "3",
    "--resolution",
    "16",
    "--threads",
    "1",
    "--device",
    "cpu",
    "--extractor",
    TEST_EXTRACTOR,
]


def make_split(root, prompts=PROMPTS, n=4):
    """A split file over small generated PNGs (train: stripes, reference: noise)."""
    rng = np.random.default_rng(0)
    parts = {}
    for part in ("train", "reference"):
        entries = []
        for i in range(n):
            a = (
                rng.integers(0, 256, (20, 24, 3))
                if part == "reference"
                else np.tile((np.arange(24)[None, :, None] * (10 + 3 * i)) % 256, (20, 1, 3))
            )
            path = root / "style" / f"{part}_{i}.png"
            path.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(a.astype(np.uint8)).save(path)
            entries.append({"path": str(path), "caption": prompts[i % len(prompts)]})
        parts[part] = entries
    split = root / "split.json"
    StyleSplitFile(
        "toy", str(root / "style"), 7, parts["train"], parts["reference"], list(prompts)
    ).save(split)
    return split


def make_params(base, path, rows, rank=1):
    """A parameter file whose rows are (lora_A scale,
    lora_B scale) pairs on seeded random tensors."""
    transformer = px.add_lora(
        px.load_components(str(base), text_encoder=False)["transformer"], px.LoraSpec(rank)
    )
    layout = px.lora_layout(transformer)
    g = torch.Generator().manual_seed(0)
    noise = {n: torch.randn(s, generator=g) for n, s in layout}
    vectors = [
        flatten({n: t * (b if ".lora_B." in n else a) for n, t in noise.items()}, layout)
        for a, b in rows
    ]
    ParamSet(
        params=torch.stack(vectors),
        layout=layout,
        steps=torch.arange(len(rows)) + 10,
        loss=torch.zeros(len(rows)),
        info={"backbone": "tiny", "rank": rank},
    ).save(path)
    return path


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("gen")
    pipe = px.build_tiny_pipeline(px.TinyPixArtConfig(), seed=0)
    pipe.save_pretrained(root / "base")
    encode(pipe.text_encoder, pipe.tokenizer, PROMPTS, px.TinyPixArtConfig().max_length).save(
        root / "prompts.safetensors"
    )
    split = make_split(root)
    # rows 0 and 1: identical, LoRA B = 0 (no effect, as the no-LoRA arm); row 2: a strong LoRA
    params = make_params(
        root / "base", root / "params.safetensors", [(1.0, 0.0), (1.0, 0.0), (1.0, 0.5)]
    )
    return dict(
        root=root,
        base=str(root / "base"),
        prompts=str(root / "prompts.safetensors"),
        split=str(split),
        params=str(params),
    )


def _args(w, out, *extra):
    return [
        "--base",
        w["base"],
        "--prompts",
        w["prompts"],
        "--split",
        w["split"],
        *GEN,
        "--out",
        str(out),
        *extra,
    ]


def test_same_seeds_same_features_across_rows_and_arms(world):
    root = world["root"]
    gi.main(
        _args(
            world,
            root / "rows.safetensors",
            "--params",
            world["params"],
            "--rank",
            "1",
            "--alpha",
            "8",
            "--grid",
            str(root / "rows.png"),
        )
    )
    gi.main(
        _args(world, root / "nolora.safetensors", "--nolora", "--grid", str(root / "nolora.png"))
    )
    rows, base = (
        load_features(root / "rows.safetensors"),
        load_features(root / "nolora.safetensors"),
    )
    assert rows.features.shape == (3, 4, 16) and base.features.shape == (1, 4, 16)
    assert torch.equal(rows.features[0], rows.features[1])  # identical rows, identical images
    assert torch.equal(
        rows.features[0], base.features[0]
    )  # a no-effect LoRA is the base: same seeds
    assert not torch.allclose(
        rows.features[2], rows.features[0]
    )  # the weights do change the images
    assert rows.info["rows"] == [0, 1, 2] and rows.info["steps"] == [10, 11, 12]
    assert rows.info["extractor"] == TEST_EXTRACTOR and rows.info["style"] == "toy"
    assert len(rows.info["seconds_per_row"]) == 3 and base.info["lora"] is False
    with Image.open(root / "rows.png") as im:
        assert im.size == (4 * 16, 3 * 16)  # 4 images (fewer than 8) per row, 3 rows; native 16 px


def test_noise_does_not_depend_on_batch_size(world):
    root = world["root"]
    gi.main(_args(world, root / "b1.safetensors", "--nolora", "--batch-size", "1"))
    gi.main(_args(world, root / "b4.safetensors", "--nolora", "--batch-size", "4"))
    a, b = (
        load_features(root / "b1.safetensors").features,
        load_features(root / "b4.safetensors").features,
    )
    assert torch.allclose(a, b, atol=1e-4)


def test_rows_chosen_like_the_text_scorer(world, tmp_path):
    pset = ParamSet.load(world["params"])
    sub, idx, rec = gi.choose_rows(pset, "p", every=2)
    assert idx == [0, 2] and sub.n == 2 and rec["in_file"] == 3 and rec["row"] is None
    soup, idx, rec = gi.choose_rows(pset, "p", soup_n=2)
    assert soup.n == 1 and soup.info["soup_of"] == 2 and idx == [2]
    assert torch.allclose(soup.params[0], pset.params[1:].mean(0))
    cell = tmp_path / "cell.json"
    cell.write_text('{"selected_row": 1}')
    one, idx, rec = gi.choose_rows(pset, "p", row_from=str(cell))
    assert idx == [1] and rec["row"] == 1 and rec["row_from"] == str(cell)
    cell.write_text('{"selected_row": 5}')
    with pytest.raises(SystemExit, match="not a row"):
        gi.choose_rows(pset, "p", row_from=str(cell))


def test_grid_rows_spread_evenly():
    assert gi.grid_rows(3) == [0, 1, 2]
    rows = gi.grid_rows(50)
    assert len(rows) == 8 and rows[0] == 0 and rows[-1] == 49


def test_wrong_rank_names_the_params_file(world, tmp_path):
    with pytest.raises(
        ArtifactError,
        match=r"params\.safetensors: parameter file made for another rank; "
        r"expected rank 2 .*found rank 1",
    ):
        gi.main(
            _args(
                world,
                tmp_path / "x.safetensors",
                "--params",
                world["params"],
                "--rank",
                "2",
                "--alpha",
                "8",
            )
        )


def test_prompts_missing_from_the_cache(world, tmp_path):
    split = make_split(tmp_path, prompts=["a green tree"], n=2)
    args = _args(world, tmp_path / "x.safetensors", "--nolora")
    args[args.index("--split") + 1] = str(split)
    with pytest.raises(ArtifactError, match="prompt cache without the prompts"):
        gi.main(args)


def test_nolora_refuses_row_options(world, tmp_path):
    with pytest.raises(SystemExit):
        gi.main(_args(world, tmp_path / "x.safetensors", "--nolora", "--soup", "2"))


def test_text_encoder_is_not_loaded(world, monkeypatch):
    import transformers

    def boom(*a, **k):
        raise AssertionError("the T5 encoder was loaded")

    monkeypatch.setattr(transformers.T5EncoderModel, "from_pretrained", boom)
    pipe = gi.load_pipeline(world["base"], gi.GenerationConfig())
    assert pipe.text_encoder is None and pipe.tokenizer is None
