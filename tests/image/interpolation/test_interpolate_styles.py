"""The interpolation between two styles' LoRAs: the formula, the crossing, the figures, the config
and (slow) a whole run on a tiny PixArt."""

from __future__ import annotations

import csv
import json
from dataclasses import replace
from pathlib import Path

import pytest
import torch
import yaml
from PIL import Image

from condpdiff.image.interpolation import interpolate_styles as its
from condpdiff.image.interpolation import plot_interpolation as plot
from condpdiff.image.styles.splitfile import StyleSplitFile
from condpdiff.params.paramfile import flatten, unflatten
from condpdiff.pipeline.config import ConfigError, check
from condpdiff.util.atomic import save_safetensors

ROOT = Path(__file__).resolve().parents[3]
SCHEMA = ROOT / "workflow/schemas/config.schema.yaml"
LAYOUT = [
    ("blocks.0.attn1.to_q.lora_A.weight", (2, 6)),
    ("blocks.0.attn1.to_q.lora_B.weight", (6, 2)),
]


def _states(seed: int) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return {n: torch.randn(s, generator=g) for n, s in LAYOUT}


def test_ends_reproduce_each_style_and_the_midpoint_is_the_mean():
    a, b = _states(0), _states(1)
    at0, at1, mid = (
        its.interpolate(a, b, 0.0),
        its.interpolate(a, b, 1.0),
        its.interpolate(a, b, 0.5),
    )
    assert list(at0) == list(a) and all(torch.equal(at0[k], a[k]) for k in a)
    assert all(torch.equal(at1[k], b[k]) for k in b)
    assert all(torch.equal(mid[k], ((a[k].double() + b[k].double()) / 2).float()) for k in a)
    assert all(mid[k].dtype == torch.float32 for k in a)


def test_state_dicts_and_flat_rows_interpolate_alike():
    a, b = _states(2), _states(3)
    ra, rb = flatten(a, LAYOUT), flatten(b, LAYOUT)
    got = flatten(its.interpolate(unflatten(ra, LAYOUT), unflatten(rb, LAYOUT), 0.3), LAYOUT)
    assert torch.equal(got, (0.7 * ra.double() + 0.3 * rb.double()).float())
    assert not torch.equal(got, ra) and not torch.equal(got, rb)


def test_states_of_different_layouts_are_refused():
    a, b = _states(0), _states(1)
    with pytest.raises(ValueError, match="different tensors"):
        its.interpolate(a, {k: v for k, v in list(b.items())[:1]}, 0.5)
    with pytest.raises(ValueError, match="shapes"):
        its.interpolate(a, {k: v[:1] for k, v in b.items()}, 0.5)


def test_lambdas_are_evenly_spaced_with_both_ends():
    lams = its.lambdas(11)
    assert lams[0] == 0.0 and lams[-1] == 1.0 and lams[5] == 0.5 and len(lams) == 11
    assert lams == pytest.approx([i / 10 for i in range(11)])
    with pytest.raises(ValueError, match="at least 2"):
        its.lambdas(1)


def test_crossing_is_linear_between_grid_points():
    assert its.crossings([0, 0.5, 1], [1, 2, 3], [3, 2, 1]) == [0.5]  # equal at a grid point
    assert its.crossings([0, 1], [1, 3], [2, 1]) == [pytest.approx(1 / 3)]  # d: -1 -> 2
    assert its.crossings([0, 0.5, 1], [1, 1, 1], [2, 3, 4]) == []  # always closer to style 1


def test_strip_prefers_prompts_with_reference_images_of_both_styles():
    def split(style, captions):
        ref = [{"path": f"{style}_{i}.png", "caption": c} for i, c in enumerate(captions)]
        return StyleSplitFile(style, "f", 0, ref, ref, ["a", "b", "c"])

    splits = [split("s", ["c", "b"]), split("t", ["c", "x"])]
    assert its.strip_indices(["a", "b", "c"], splits, 2, 6) == [
        0,
        2,
    ]  # prompt c (j = 2) first, then j = 0
    assert its.reference_image_paths(splits[1], ["a", "b", "c"], [0, 2]) == [
        Path("t_0.png"),
        Path("t_0.png"),
    ]


def _record(arms=("generated", "original"), points=5) -> dict:
    lams = its.lambdas(points)
    rows = [
        {
            "arm": arm,
            "lambda": lam,
            "fid_style1": 1 + 4 * lam + k,
            "fid_style2": 5 - 4 * lam,
            "seconds": 0.1,
        }
        for k, arm in enumerate(arms)
        for lam in lams
    ]
    return {
        "format": its.FORMAT,
        "styles": ["s", "t"],
        "arms": list(arms),
        "lambdas": lams,
        "rows": rows,
        "crossings": {
            arm: its.crossings(
                lams,
                [r["fid_style1"] for r in rows if r["arm"] == arm],
                [r["fid_style2"] for r in rows if r["arm"] == arm],
            )
            for arm in arms
        },
        "nolora": {"fid_style1": 7.0, "fid_style2": 8.0, "same_prompts": True},
        "formula": its.FORMULA,
        "generation": {"n_images": 4},
        "extractor": "seeded-conv-16",
    }


def test_figures_and_crossing_table_from_curves(tmp_path):
    record, side, k = _record(), 16, 2
    (tmp_path / "curve.json").write_text(json.dumps(record))
    images = torch.randint(0, 255, (2, 5, k, 3, side, side), dtype=torch.uint8)
    ref = torch.zeros(k, 3, side, side, dtype=torch.uint8)
    info = {
        "styles": ["s", "t"],
        "arms": record["arms"],
        "lambdas": record["lambdas"],
        "images": [0, 1],
        "prompts": ["a red cat", "a very long prompt indeed"],
    }
    save_safetensors(
        tmp_path / "strip.safetensors",
        {"images": images, "reference1": ref, "reference2": ref.clone()},
        {"format": its.STRIP_FORMAT, "info": json.dumps(info)},
    )
    outs = [tmp_path / n for n in ("strip.png", "curve.png", "crossing.md")]
    plot.main(
        [
            "--curves",
            str(tmp_path / "curve.json"),
            "--strip",
            str(tmp_path / "strip.safetensors"),
            "--strip-png",
            str(outs[0]),
            "--curve-png",
            str(outs[1]),
            "--crossing",
            str(outs[2]),
        ]
    )
    cell = side * (64 // side)
    with Image.open(outs[0]) as im:
        assert im.size == (
            plot.LABEL_W + 7 * cell + 2 * plot.GAP,
            plot.HEADER_H + 4 * cell + plot.GAP,
        )
    with Image.open(outs[1]) as im:
        assert im.size[0] > 400
    table = outs[2].read_text()
    # generated: 1 + 4l = 5 - 4l at l = 0.5; original: 2 + 4l = 5 - 4l at l = 0.375
    assert "| generated | 0.500 | 3.00 |" in table and "| original | 0.375 | 3.50 |" in table


def test_strip_of_another_run_is_refused(tmp_path):
    record = _record()
    (tmp_path / "curve.json").write_text(json.dumps(record))
    info = {
        "styles": ["s", "t"],
        "arms": ["generated"],
        "lambdas": record["lambdas"],
        "images": [0],
        "prompts": ["a"],
    }
    ref = torch.zeros(1, 3, 4, 4, dtype=torch.uint8)
    save_safetensors(
        tmp_path / "strip.safetensors",
        {
            "images": torch.zeros(1, 5, 1, 3, 4, 4, dtype=torch.uint8),
            "reference1": ref,
            "reference2": ref.clone(),
        },
        {"format": its.STRIP_FORMAT, "info": json.dumps(info)},
    )
    with pytest.raises(Exception, match="strip of another run"):
        plot.load_strip(tmp_path / "strip.safetensors", record, tmp_path / "curve.json")


def _demo() -> dict:
    return yaml.safe_load((ROOT / "config/image_demo_cpu.yaml").read_text())


def test_config_pairs_must_be_two_configured_styles():
    from condpdiff.pipeline.image_targets import interpolation_files
    from condpdiff.text.tasks import get_task

    config = _demo()
    check(config, SCHEMA, get_task)
    assert config["image"]["interpolation"]["points"] == 11  # the schema's default
    files = interpolation_files(config)
    assert len(files) == 6 and all(
        "/interpolation/tinypix/r4/n64/" in f and "/stl06--stl18/" in f for f in files
    )
    assert any(f.endswith("/curve.json") for f in files) and any(
        f.endswith("/strip.png") for f in files
    )
    for pair, match in (
        ([["stl06", "nope"]], "not among the configured styles"),
        ([["stl06", "stl06"]], "two different"),
    ):
        bad = _demo()
        bad["image"]["interpolation"] = {"pairs": pair}
        with pytest.raises(ConfigError, match=match):
            check(bad, SCHEMA, get_task)
    none = _demo()
    none["image"]["interpolation"], none["targets"] = {}, ["table2", "interpolation"]
    with pytest.raises(ConfigError, match="at least one pair"):
        check(none, SCHEMA, get_task)


@pytest.mark.slow
def test_whole_run_on_a_tiny_base(tmp_path):
    from test_generate_images import PROMPTS, make_params, make_split

    from condpdiff.image.base import pixart as px
    from condpdiff.image.base.prompts import encode
    from condpdiff.image.fid import extract_features
    from condpdiff.image.fid.extractors import TEST_EXTRACTOR
    from condpdiff.image.styles.splitfile import load_split

    pipe = px.build_tiny_pipeline(px.TinyPixArtConfig(), seed=0)
    pipe.save_pretrained(tmp_path / "base")
    encode(pipe.text_encoder, pipe.tokenizer, PROMPTS, 120).save(tmp_path / "prompts.safetensors")
    split1 = make_split(tmp_path)
    split2 = tmp_path / "split2.json"
    replace(load_split(split1), style="toy2").save(split2)
    refs, files = [], {}
    for i, split in enumerate((split1, split2)):
        refs.append(tmp_path / f"ref{i}.safetensors")
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
                "--device",
                "cpu",
                "--out",
                str(refs[-1]),
            ]
        )
        # style 1: its generated and original rows have LoRA B = 0 (the base's images);
        # style 2: two strong LoRAs
        b_gen, b_orig = (0.0, 0.0) if i == 0 else (0.5, 0.3)
        files[f"h{i}"] = make_params(
            tmp_path / "base", tmp_path / f"h{i}.safetensors", [(1, b_orig), (1, 0.2)]
        )
        files[f"c{i}"] = make_params(
            tmp_path / "base", tmp_path / f"c{i}.safetensors", [(1, 0.4), (1, b_gen)]
        )
        for arm, cell in {
            "generated": {"selected_row": 1},
            "original": {"best_step": 10},
            "soup": {"n": 2},
            "nolora": {},
        }.items():
            files[f"{arm}{i}"] = tmp_path / f"{arm}{i}.json"
            files[f"{arm}{i}"].write_text(
                json.dumps({"format": "condpdiff-cell/1", "score": 2.0 + i, **cell})
            )
    out = {n: tmp_path / n for n in ("curve.json", "curve.csv", "strip.safetensors")}
    its.main(
        [
            "--base",
            str(tmp_path / "base"),
            "--prompts",
            str(tmp_path / "prompts.safetensors"),
            "--split",
            str(split1),
            "--split2",
            str(split2),
            "--rank",
            "1",
            "--alpha",
            "8",
            "--harvest",
            str(files["h0"]),
            str(files["h1"]),
            "--candidates",
            str(files["c0"]),
            str(files["c1"]),
            "--cells",
            *(str(files[f"{a}0"]) for a in its.CELL_ARMS),
            "--cells2",
            *(str(files[f"{a}1"]) for a in its.CELL_ARMS),
            "--reference",
            *map(str, refs),
            "--points",
            "3",
            "--strip-images",
            "2",
            "--extractor",
            TEST_EXTRACTOR,
            "--n-images",
            "4",
            "--steps",
            "2",
            "--resolution",
            "16",
            "--device",
            "cpu",
            "--threads",
            "1",
            "--out",
            str(out["curve.json"]),
            "--csv",
            str(out["curve.csv"]),
            "--strip",
            str(out["strip.safetensors"]),
        ]
    )
    record = json.loads(out["curve.json"].read_text())
    assert record["styles"] == ["toy", "toy2"] and record["lambdas"] == [0.0, 0.5, 1.0]
    assert [(r["arm"], r["lambda"]) for r in record["rows"]] == [
        (a, x) for a in ("generated", "original") for x in (0.0, 0.5, 1.0)
    ]
    fid = {(r["arm"], r["lambda"]): (r["fid_style1"], r["fid_style2"]) for r in record["rows"]}
    assert fid[("generated", 0.0)] == pytest.approx(
        fid[("original", 0.0)]
    )  # both the base's images at l = 0
    assert fid[("generated", 1.0)] != pytest.approx(
        fid[("original", 1.0)]
    )  # two different LoRAs at l = 1
    assert record["what"]["original"] == {"toy": {"best_step": 10}, "toy2": {"best_step": 10}}
    assert record["nolora"] == {"fid_style1": 2.0, "fid_style2": 3.0, "same_prompts": True}
    assert set(record["crossings"]) == {"generated", "original"}
    with open(out["curve.csv"]) as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 6 and tuple(rows[0]) == its.CSV_COLUMNS and rows[0]["style2"] == "toy2"
    figs = [tmp_path / n for n in ("strip.png", "curve.png", "crossing.md")]
    plot.main(
        [
            "--curves",
            str(out["curve.json"]),
            "--strip",
            str(out["strip.safetensors"]),
            "--strip-png",
            str(figs[0]),
            "--curve-png",
            str(figs[1]),
            "--crossing",
            str(figs[2]),
        ]
    )
    with Image.open(
        figs[0]
    ) as im:  # 16 px images shown at 64 px: 2 images x 2 arms, 3 l values + 2 references
        assert im.size == (plot.LABEL_W + 5 * 64 + 2 * plot.GAP, plot.HEADER_H + 4 * 64 + plot.GAP)
    table = [
        line.split(" | ")[0] for line in figs[2].read_text().splitlines() if line.startswith("| ")
    ]
    assert table[2:] == [
        "| generated",
        "| original",
    ]  # after the header and its rule: one row per arm
