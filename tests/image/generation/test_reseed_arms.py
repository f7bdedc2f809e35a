"""table2_noise: Table 2's four reported parameter sets regenerated at another seed."""

from __future__ import annotations

import json

import pytest
import torch
from test_generate_images import PROMPTS, make_params, make_split

from condpdiff.image.base import pixart as px
from condpdiff.image.base.prompts import encode
from condpdiff.image.fid import extract_features
from condpdiff.image.fid.extractors import TEST_EXTRACTOR
from condpdiff.image.generation import reseed_arms
from condpdiff.params.paramfile import ParamSet


def test_reported_states_are_the_cells_rows(tmp_path):
    pipe = px.build_tiny_pipeline(px.TinyPixArtConfig(), seed=0)
    pipe.save_pretrained(tmp_path / "base")
    harvest = ParamSet.load(
        make_params(tmp_path / "base", tmp_path / "h.safetensors", [(1, 0.1), (1, 0.2), (1, 0.3)])
    )
    cands = ParamSet.load(
        make_params(tmp_path / "base", tmp_path / "c.safetensors", [(1, 0.4), (1, 0.5)])
    )
    cells = {
        "generated": {"selected_row": 1},
        "original": {"best_step": 10},
        "soup": {"n": 2},
        "nolora": {},
    }
    states = reseed_arms.reported_states(harvest, cands, cells)
    assert all(
        torch.equal(states["generated"][0][k], cands.lora_state_dict(1)[k])
        for k in states["generated"][0]
    )
    assert all(
        torch.equal(states["original"][0][k], harvest.lora_state_dict(0)[k])
        for k in states["original"][0]
    )
    mean = harvest.params[1:].double().mean(0).float()
    soup = torch.cat([v.flatten() for v in states["soup"][0].values()])
    assert torch.allclose(soup, mean) and states["nolora"][0] is None


@pytest.mark.slow
def test_reseeded_cells_score_the_same_sets_at_another_seed(tmp_path):
    pipe = px.build_tiny_pipeline(px.TinyPixArtConfig(), seed=0)
    pipe.save_pretrained(tmp_path / "base")
    encode(pipe.text_encoder, pipe.tokenizer, PROMPTS, 120).save(tmp_path / "prompts.safetensors")
    split = make_split(tmp_path)
    extract_features.main(
        [
            "--split",
            str(split),
            "--part",
            "reference",
            "--resolution",
            "16",
            "--extractor",
            TEST_EXTRACTOR,
            "--out",
            str(tmp_path / "ref.safetensors"),
        ]
    )
    harvest = make_params(tmp_path / "base", tmp_path / "h.safetensors", [(1, 0.0), (1, 0.3)])
    cands = make_params(tmp_path / "base", tmp_path / "c.safetensors", [(1, 0.0), (1, 0.2)])
    cells = []
    for arm, cell in {
        "generated": {"selected_row": 0},
        "original": {"best_step": 10},
        "soup": {"n": 2},
        "nolora": {},
    }.items():
        cells.append(tmp_path / f"{arm}.json")
        cells[-1].write_text(json.dumps({"format": "condpdiff-cell/1", "score": 1.0, **cell}))
    outs = [tmp_path / f"out_{arm}.json" for arm in reseed_arms.ARMS]
    reseed_arms.main(
        [
            "--base",
            str(tmp_path / "base"),
            "--prompts",
            str(tmp_path / "prompts.safetensors"),
            "--split",
            str(split),
            "--harvest",
            str(harvest),
            "--candidates",
            str(cands),
            "--reference",
            str(tmp_path / "ref.safetensors"),
            "--rank",
            "1",
            "--alpha",
            "8",
            "--cells",
            *map(str, cells),
            "--out",
            *map(str, outs),
            "--extractor",
            TEST_EXTRACTOR,
            "--n-images",
            "4",
            "--steps",
            "2",
            "--resolution",
            "16",
            "--seed",
            "5",
            "--device",
            "cpu",
        ]
    )
    got = {arm: json.loads(p.read_text()) for arm, p in zip(reseed_arms.ARMS, outs)}
    assert all(c["seed"] == 5 and c["higher_is_better"] is False for c in got.values())
    # candidate 0 and checkpoint 0 have LoRA B = 0: the same images as the base, the same FID
    assert got["generated"]["score"] == pytest.approx(got["nolora"]["score"])
    assert got["original"]["score"] == pytest.approx(got["nolora"]["score"])
