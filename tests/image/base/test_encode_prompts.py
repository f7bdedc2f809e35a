"""encode_prompts: every train/reference caption and prompt of every split, once, row 0 = ""."""

from __future__ import annotations

import json

import pytest
import torch

from condpdiff.image.base import encode_prompts as ep
from condpdiff.image.base.pixart import TinyPixArtConfig, build_tiny_pipeline
from condpdiff.image.base.prompts import PromptCache, encode
from condpdiff.image.styles.splitfile import StyleSplitFile


def _entries(tmp_path, stem: str, captions: list[str]) -> list[dict]:
    return [
        {"path": str(tmp_path / f"{stem}_{i}.png"), "caption": c} for i, c in enumerate(captions)
    ]


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    folder = tmp_path_factory.mktemp("base") / "tiny"
    build_tiny_pipeline(TinyPixArtConfig(), seed=0).save_pretrained(folder)
    return folder


def test_all_captions_and_prompts_encoded(base, tmp_path):
    a = StyleSplitFile(
        "a",
        "",
        0,
        _entries(tmp_path, "a", ["a cat", "a dog"]),
        _entries(tmp_path, "ar", ["a hat"]),
        ["a red cat", "a cat"],
    )
    b = StyleSplitFile(
        "b",
        "",
        0,
        _entries(tmp_path, "b", ["a dog", "a ship"]),
        _entries(tmp_path, "br", ["a tree"]),
        ["a blue ship"],
    )
    a.save(tmp_path / "a.json")
    b.save(tmp_path / "b.json")
    extra = tmp_path / "content"
    extra.mkdir()
    (extra / "x.png").write_bytes(b"")  # captions.json is what is read; the image is only listed
    (extra / "captions.json").write_text(json.dumps({"x.png": "a content photo"}))
    out1, out2 = tmp_path / "p1.safetensors", tmp_path / "p2.safetensors"
    ep.main(
        [
            "--base",
            str(base),
            "--splits",
            str(tmp_path / "a.json"),
            str(tmp_path / "b.json"),
            "--extra-folders",
            str(extra),
            "--max-length",
            "24",
            "--out",
            str(out1),
        ]
    )
    cache = PromptCache.load(out1)
    expected = {
        "a cat",
        "a dog",
        "a hat",
        "a red cat",
        "a ship",
        "a tree",
        "a blue ship",
        "a content photo",
    }
    assert cache.prompts[0] == "" and set(cache.prompts[1:]) == expected and len(cache.prompts) == 9
    assert cache.embeds.shape[:2] == (9, 24)

    from condpdiff.image.base.pixart import load_components

    comps = load_components(str(base))
    direct = encode(comps["text_encoder"], comps["tokenizer"], ["a tree"], 24)
    e, m = cache.lookup(["a tree"])
    assert torch.allclose(e, direct.embeds[1:], atol=1e-6) and torch.equal(m, direct.mask[1:])

    ep.main(
        [
            "--base",
            str(base),
            "--splits",
            str(tmp_path / "b.json"),
            str(tmp_path / "a.json"),
            "--extra-folders",
            str(extra),
            "--max-length",
            "24",
            "--out",
            str(out2),
        ]
    )
    assert out1.read_bytes() == out2.read_bytes()  # independent of the order of --splits


def test_missing_text_encoder_named(tmp_path):
    (tmp_path / "tokenizer").mkdir()
    with pytest.raises(ValueError, match="missing text_encoder"):
        ep.load_text_encoder(str(tmp_path), torch.device("cpu"), torch.float32)
