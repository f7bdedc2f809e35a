"""The per-style figure: reference images above the four arms, the LoRA rows the cells name."""

from __future__ import annotations

import json

import pytest
from PIL import Image
from test_generate_images import PROMPTS, make_params, make_split

from condpdiff.image.base import pixart as px
from condpdiff.image.base.prompts import encode
from condpdiff.image.generation import render_figure


@pytest.mark.slow
def test_figure_has_a_row_per_arm_and_reads_the_cells_rows(tmp_path):
    pipe = px.build_tiny_pipeline(px.TinyPixArtConfig(), seed=0)
    pipe.save_pretrained(tmp_path / "base")
    encode(pipe.text_encoder, pipe.tokenizer, PROMPTS, 120).save(tmp_path / "prompts.safetensors")
    split = make_split(tmp_path)
    harvest = make_params(
        tmp_path / "base", tmp_path / "harvest.safetensors", [(1.0, 0.0), (1.0, 0.3), (1.0, 0.5)]
    )
    cands = make_params(tmp_path / "base", tmp_path / "cands.safetensors", [(1.0, 0.1), (1.0, 0.2)])
    cells = {
        "generated": {"score": 1.5, "selected_row": 1},
        "original": {"score": 1.2, "best_step": 11},  # steps are 10, 11, 12: row 1
        "soup": {"score": 1.3, "n": 2},
        "nolora": {"score": 3.0},
    }
    paths = []
    for name, cell in cells.items():
        paths.append(tmp_path / f"{name}.json")
        paths[-1].write_text(json.dumps(cell))
    out = tmp_path / "figure.png"
    render_figure.main(
        [
            "--base",
            str(tmp_path / "base"),
            "--prompts",
            str(tmp_path / "prompts.safetensors"),
            "--split",
            str(split),
            "--rank",
            "1",
            "--alpha",
            "8",
            "--harvest",
            str(harvest),
            "--candidates",
            str(cands),
            "--cells",
            *map(str, paths),
            "--out",
            str(out),
            "--steps",
            "2",
            "--threads",
            "1",
            "--device",
            "cpu",
            "--resolution",
            "16",
        ]
    )
    with Image.open(out) as im:
        w, h = im.size
    side = px.TinyPixArtConfig().image_size * max(1, 64 // px.TinyPixArtConfig().image_size)
    assert h == 5 * side and w == render_figure.LABEL_W + 8 * side
