"""The generalisation set (target ``generalisation``): the grid and its band split, the nearest
training l, the parameter measures, the set file, training and sampling on a toy set, the table and
figure, the config checks and the target's paths."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import pytest
import torch
import yaml

from condpdiff.image.generalisation import common as gen
from condpdiff.image.generalisation.build_generalisation_set import build
from condpdiff.params.paramfile import ParamSet
from condpdiff.pipeline.config import ConfigError, check

ROOT = Path(__file__).resolve().parents[3]
SCHEMA = ROOT / "workflow/schemas/config.schema.yaml"
LAYOUT = [
    ("transformer_blocks.0.attn1.to_q.lora_A.weight", (2, 8)),
    ("transformer_blocks.0.attn1.to_q.lora_B.weight", (8, 2)),
]  # K = 32


def _harvest(seed: int, rows: int = 3) -> ParamSet:
    g = torch.Generator().manual_seed(seed)
    return ParamSet(
        torch.randn(rows, 32, generator=g),
        LAYOUT,
        torch.arange(rows) * 5,
        torch.zeros(rows),
        {},
        {"kind": "harvest", "backbone": "tiny", "rank": 2, "alpha": 2, "task": f"s{seed}"},
    )


def _set(points: int = 21) -> gen.GeneralisationSet:
    return build(_harvest(0), _harvest(1), ["s0", "s1"], points, ["h0", "h1"])


# --- the grid and its split ---


def test_paper_bands_train_on_odd_tenths_and_test_on_the_rest():
    train, test = gen.split_grid(51)
    ls = gen.lambdas(51)
    assert len(train) == 25 and len(test) == 26 and sorted(train + test) == list(range(51))
    assert [round(ls[i], 2) for i in train[:5]] == [0.1, 0.12, 0.14, 0.16, 0.18]
    assert round(ls[train[-1]], 2) == 0.98 and test[-1] == 50  # l = 1 is a test point
    assert [round(ls[i], 2) for i in test[:6]] == [0.0, 0.02, 0.04, 0.06, 0.08, 0.2]
    assert gen.split_grid(11) == ([1, 3, 5, 7, 9], [0, 2, 4, 6, 8, 10])


@pytest.mark.parametrize("points", [11, 21, 31, 41, 51, 101, 1000, 1001])
def test_band_membership_is_exact_at_the_band_edges(points):
    """Integer band arithmetic agrees with exact rationals:
    no grid point slips across an edge by rounding."""
    for i in range(points):
        lam = Fraction(i, points - 1)
        exact = lam < 1 and int(lam * 10) % 2 == 1
        assert gen.is_train(i, points) == exact, (points, i)


def test_too_few_points_is_an_error_naming_the_minimum():
    with pytest.raises(ValueError, match="at least 11 points"):
        gen.split_grid(10)


def test_nearest_training_point_breaks_ties_towards_the_lower_l():
    train, _ = gen.split_grid(51)
    assert gen.nearest_train(0, train) == 5  # l = 0 -> 0.1
    assert gen.nearest_train(10, train) == 9  # 0.2 -> 0.18
    assert gen.nearest_train(12, train) == 9  # 0.24 is 0.06 from 0.18 and from 0.30: the lower
    assert gen.nearest_train(14, train) == 15  # 0.28 -> 0.30
    assert gen.nearest_train(50, train) == 49  # l = 1 -> 0.98
    assert (
        gen.where(0, train) == "outside"
        and gen.where(50, train) == "outside"
        and gen.where(12, train) == "gap"
    )


# --- parameter measures ---


def test_relative_distance_and_position_along_the_line():
    a, b = torch.tensor([1.0, 0.0, 0.0]), torch.tensor([1.0, 2.0, 0.0])
    assert gen.relative_distance(b, b) == 0.0
    assert gen.relative_distance(a, b) == pytest.approx(2 / 5**0.5)
    assert gen.line_position(0.75 * a + 0.25 * b, a, b) == pytest.approx((0.25, 0.0))
    lam, off = gen.line_position(torch.tensor([1.0, 1.0, 1.0]), a, b)
    assert lam == pytest.approx(0.5) and off == pytest.approx(0.5)  # 1 off the line, ||b - a|| = 2
    with pytest.raises(ValueError, match="identical"):
        gen.line_position(a, a, a)


# --- the set ---


def test_set_rows_are_the_formula_with_the_checkpoints_at_the_ends(tmp_path):
    h0, h1 = _harvest(0), _harvest(1)
    gset = build(h0, h1, ["s0", "s1"], 21, ["h0", "h1"])
    assert torch.equal(gset.theta(0), h0.params[-1]) and torch.equal(gset.theta(20), h1.params[-1])
    expect = (0.7 * h0.params[-1].double() + 0.3 * h1.params[-1].double()).float()
    assert torch.equal(gset.theta(6), expect)
    gset.params.save(tmp_path / "set.safetensors")
    back = gen.load_set(tmp_path / "set.safetensors")
    assert back.train == gset.train and back.test == gset.test and back.styles == ["s0", "s1"]
    assert torch.equal(back.params.params, gset.params.params)
    assert back.params.info["ends"][1] == {"style": "s1", "harvest": "h1", "step": 10, "row": 2}
    assert gset.describe()["nearest_train"]["0"] == 2


def test_identical_checkpoints_and_foreign_files_are_refused(tmp_path):
    h = _harvest(0)
    with pytest.raises(ValueError, match="identical"):
        build(h, h, ["a", "b"], 11, ["h0", "h1"])
    h.save(tmp_path / "harvest.safetensors")
    with pytest.raises(ValueError, match="not a generalisation set"):
        gen.load_set(tmp_path / "harvest.safetensors")
    gset = _set(21)
    gset.params.info["train"] = [1, 2]
    gset.params.save(tmp_path / "bad.safetensors")
    with pytest.raises(ValueError, match="do not fit its grid"):
        gen.load_set(tmp_path / "bad.safetensors")


def test_build_entry_point_writes_the_set_and_its_json(tmp_path):
    from condpdiff.image.generalisation import build_generalisation_set as bgs

    for i in (0, 1):
        _harvest(i).save(tmp_path / f"h{i}.safetensors")
    bgs.main(
        [
            "--harvest",
            str(tmp_path / "h0.safetensors"),
            str(tmp_path / "h1.safetensors"),
            "--styles",
            "a",
            "b",
            "--points",
            "11",
            "--out",
            str(tmp_path / "set.safetensors"),
            "--json",
            str(tmp_path / "set.json"),
        ]
    )
    desc = json.loads((tmp_path / "set.json").read_text())
    assert desc["train"] == [1, 3, 5, 7, 9] and desc["where"]["10"] == "outside"
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "h0.safetensors",
        "h1.safetensors",
        "set.json",
        "set.safetensors",
    ]  # atomic: no temporary file left
    with pytest.raises(SystemExit):
        bgs.main(
            [
                "--harvest",
                str(tmp_path / "h0.safetensors"),
                str(tmp_path / "h1.safetensors"),
                "--styles",
                "a",
                "a",
                "--points",
                "11",
                "--out",
                str(tmp_path / "x.safetensors"),
                "--json",
                str(tmp_path / "x.json"),
            ]
        )


# --- training and sampling on a toy set ---


def test_generator_trains_on_training_rows_only_and_samples_every_test_l(tmp_path):
    from condpdiff.generator.pdiff.autoencoder import AutoencoderConfig
    from condpdiff.generator.pdiff.denoiser import DenoiserConfig
    from condpdiff.generator.pdiff.sample_candidates import SamplingConfig
    from condpdiff.generator.pdiff.train_autoencoder import AETrainConfig
    from condpdiff.generator.pdiff.train_diffusion import DiffusionTrainConfig
    from condpdiff.image.generalisation.sample_generalisation_candidates import sample_all
    from condpdiff.image.generalisation.train_generalisation_generator import fit

    gset = _set(11)
    maps = torch.randn(11, 3, 4, 4, 4)
    gset.params.params[gset.test] = float("nan")  # a test row read anywhere would poison training
    stats, ae, _, diffusion, _, report = fit(
        gset,
        maps,
        "batch",
        AutoencoderConfig(channels=(4, 8), kernel=3, stride=2, latent_channels=2, latent_length=4),
        AETrainConfig(steps=3, batch_size=4, threads=1),
        DenoiserConfig(channels=(8, 16), emb_dim=8, bottom_hidden=8),
        DiffusionTrainConfig(steps=3, batch_size=4, threads=1),
        {"set": "s", "condition": "c", "autoencoder": "a"},
    )
    assert report["rows"] == 5 and report["train"] == [1, 3, 5, 7, 9]
    assert torch.isfinite(stats.mean).all() and stats.mode == "batch"
    assert diffusion.net.cfg.cond_mode == "conv"
    out = sample_all(
        gset, maps, stats, diffusion, ae, "ddim4", SamplingConfig(num_candidates=2, threads=1)
    )
    assert out.shape == (2 * len(gset.test), 32) and torch.isfinite(out).all()
    with pytest.raises(ValueError, match="batch"):
        fit(gset, maps, "task", None, None, None, None, {})


def test_mean_pooled_condition_and_the_training_check():
    from condpdiff.generator.pdiff.autoencoder import AutoencoderConfig
    from condpdiff.generator.pdiff.denoiser import DenoiserConfig
    from condpdiff.generator.pdiff.sample_candidates import SamplingConfig
    from condpdiff.generator.pdiff.train_autoencoder import AETrainConfig
    from condpdiff.generator.pdiff.train_diffusion import DiffusionTrainConfig
    from condpdiff.image.generalisation.sample_generalisation_training import check
    from condpdiff.image.generalisation.train_generalisation_generator import fit, pool_maps

    maps = torch.randn(11, 3, 4, 4, 4)
    assert torch.equal(pool_maps(maps, "each"), maps) and torch.allclose(
        pool_maps(maps, "mean")[:, 0], maps.mean(1)
    )
    with pytest.raises(ValueError, match="condition_pool"):
        pool_maps(maps, "max")
    gset = _set(11)
    stats, ae, _, diffusion, _, report = fit(
        gset,
        maps,
        "batch",
        AutoencoderConfig(channels=(4, 8), kernel=3, stride=2, latent_channels=2, latent_length=4),
        AETrainConfig(steps=3, batch_size=4, threads=1),
        DenoiserConfig(channels=(8, 16), emb_dim=8, bottom_hidden=8),
        DiffusionTrainConfig(steps=3, batch_size=4, threads=1),
        {"set": "s", "condition": "c", "autoencoder": "a"},
        pool="mean",
    )
    assert diffusion.extra["condition_pool"] == "mean" and diffusion.extra["condition_images"] == 1
    record = check(
        gset,
        maps,
        stats,
        diffusion,
        ae,
        "ddim4",
        SamplingConfig(num_candidates=2, threads=1),
        report["recon_relative_distance"],
    )
    assert [r["index"] for r in record["rows"]] == gset.train and all(
        len(r["dist"]) == 2 for r in record["rows"]
    )
    assert record["summary"]["n"] == 5 and record["summary"]["mean_recon_dist"] is not None


# --- scoring helpers, table and figure ---


def test_retrieval_uses_condition_features_only():
    feats = torch.zeros(11, 4, 3)
    feats[:, :, 0] = torch.arange(11).float()[:, None]  # mean feature grows with l
    feats[6, :, 0] = 3.2  # l_6's images look like l_3's
    from condpdiff.image.generalisation.score_generalisation import retrieve

    assert retrieve(feats, 6, [1, 3, 5, 7, 9]) == 3 and retrieve(feats, 4, [1, 3, 5, 7, 9]) == 3


def _record() -> dict:
    rows = []
    for i, lam, w in ((0, 0.0, "outside"), (2, 0.2, "gap"), (10, 1.0, "outside")):
        rows.append(
            {
                "index": i,
                "lambda": lam,
                "where": w,
                "nearest_lambda": 0.1,
                "retrieved_lambda": 0.3,
                "fid_generated": 1.0 + i,
                "fid_nearest": 2.0,
                "fid_retrieved": 3.0,
                "fid_true": 0.5,
                "fid_nolora": 9.0,
                "dist_generated": 0.2,
                "dist_nearest": 0.1 * i,
                "dist_retrieved": 0.3,
                "l_hat": lam + 0.01,
                "off_line": 0.1,
                "selected": 0,
                "selection_fid": None,
            }
        )
    from condpdiff.image.generalisation.score_generalisation import summary

    return {
        "format": gen.SCORES_FORMAT,
        "styles": ["a", "b"],
        "points": 11,
        "lambdas": gen.lambdas(11),
        "train": [1, 3, 5, 7, 9],
        "test": [0, 2, 4, 6, 8, 10],
        "rows": rows,
        "summary": summary(rows),
        "select": "first",
        "candidates_per_l": 1,
        "images": {
            "evaluation": {"n": 10, "seed": 0},
            "reference": {"n": 10, "seed": 2000},
            "condition": {"n": 4, "seed": 1000},
        },
    }


def test_summary_counts_wins_per_part():
    s = _record()["summary"]
    assert s["all"]["n"] == 3 and s["gap"]["n"] == 1 and s["outside"]["n"] == 2
    assert s["all"]["generated_wins"]["fid_vs_nearest"] == 1  # FID 1 < 2; 3 and 11 are not
    assert s["all"]["generated_wins"]["dist_vs_nearest"] == 1  # 0.2 < 1.0 only at l = 1
    assert s["all"]["mean"]["fid_generated"] == pytest.approx((1 + 3 + 11) / 3)


def test_plot_writes_table_and_figure_atomically(tmp_path):
    from PIL import Image

    from condpdiff.image.generalisation import plot_generalisation as pg
    from condpdiff.util.atomic import write_json

    write_json(tmp_path / "scores.json", _record())
    pg.main(
        [
            "--scores",
            str(tmp_path / "scores.json"),
            "--md",
            str(tmp_path / "t.md"),
            "--html",
            str(tmp_path / "t.html"),
            "--png",
            str(tmp_path / "f.png"),
        ]
    )
    md = (tmp_path / "t.md").read_text()
    assert (
        "| 0.200 | gap | 3.000 | 2.000 (0.100) |" in md
        and "generated better, all" in md
        and "1/3" in md
    )
    assert "<table>" in (tmp_path / "t.html").read_text()
    assert Image.open(tmp_path / "f.png").size[0] > 300
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.png", "scores.json", "t.html", "t.md"]
    (tmp_path / "foreign.json").write_text(json.dumps({"format": "other/1"}))
    with pytest.raises(ValueError, match="generalisation scores"):
        pg.load_record(tmp_path / "foreign.json")


def test_keep_images_returns_the_features_and_keeps_the_pixels():
    class Fake:
        def extract(self, images, batch_size=64):
            return images.float().mean((2, 3))

    tap = gen.KeepImages(Fake())
    x = torch.randint(0, 255, (3, 3, 4, 4), dtype=torch.uint8)
    assert torch.equal(tap.extract(x), x.float().mean((2, 3)))
    tap.extract(x[:1])
    assert torch.equal(tap.take(), torch.cat([x, x[:1]])) and tap.kept == []


def test_seeds_must_differ():
    from condpdiff.image.generalisation.generate_generalisation_images import check_seeds

    check_seeds(0, 1000, 2000)
    with pytest.raises(ValueError, match="three different seeds"):
        check_seeds(0, 0, 2000)


# --- config and target ---


def _demo() -> dict:
    return yaml.safe_load((ROOT / "config/image_demo_cpu.yaml").read_text())


def _check(config):
    from condpdiff.text.tasks import get_task

    check(config, SCHEMA, get_task)
    return config


def test_target_paths_hold_every_setting_and_default_to_the_interpolation_pair():
    from condpdiff.pipeline.image_targets import generalisation_files, generalisation_pair

    config = _check(_demo())
    g = config["image"]["generalisation"]
    assert generalisation_pair(config) == ("stl06", "stl18")
    files = generalisation_files(config)
    assert len(files) == 6 and any(f.endswith("/figure.png") for f in files)
    want = (
        f"/generalisation/tinypix/r4/stl06--stl18/m{g['points']}/cond{g['condition_images']}-seed"
        f"{g['condition_seed']}_ref{g['reference_images']}-seed{g['reference_seed']}/"
    )
    assert all(
        want in f and f.startswith("results/image_demo_cpu/image/eval/style-prediction-100-n100")
        for f in files
    )
    scored = [f for f in files if "/select-" in f]
    assert all(
        f"/norm-{g['norm']}-pool{g['condition_pool']}/ddim50-c{g['num_candidates']}/select-{g['select']}/"
        in f
        for f in scored
    )
    assert (
        g["condition_pool"] == "mean"
    )  # the demo's setting (docs/results/image-generalisation.md)


@pytest.mark.parametrize(
    "change, key",
    [
        ({"pair": ["stl06", "nope"]}, "image.generalisation.pair"),
        ({"pair": ["stl06", "stl06"]}, "image.generalisation.pair"),
        ({"points": 5}, "image.generalisation.points"),
        ({"condition_seed": 0}, "image.generalisation.condition_seed"),
        ({"select": "reference_fid"}, "image.generalisation.select"),
        ({"condition_pool": "max"}, "image.generalisation.condition_pool"),
        ({"autoencoder": {"stepz": 3}}, "image.generalisation.autoencoder.stepz"),
    ],
)
def test_bad_settings_name_the_key(change, key):
    config = _demo()
    config["image"]["generalisation"] = change
    with pytest.raises(ConfigError) as e:
        _check(config)
    assert e.value.key == key


def test_the_target_without_any_pair_is_an_error_naming_the_key():
    config = _demo()
    config["image"]["interpolation"] = {}
    config["targets"] = ["generalisation"]
    with pytest.raises(ConfigError, match="needs a pair") as e:
        _check(config)
    assert e.value.key == "image.generalisation.pair"


# --- the whole chain on a tiny PixArt (slow) ---


@pytest.mark.slow
def test_whole_chain_on_a_tiny_base(tmp_path):
    from test_generate_images import PROMPTS, make_params, make_split

    from condpdiff.image.base import pixart as px
    from condpdiff.image.base.prompts import encode
    from condpdiff.image.fid.extractors import TEST_EXTRACTOR
    from condpdiff.image.fid.features import load_features
    from condpdiff.image.generalisation import build_generalisation_set as bgs
    from condpdiff.image.generalisation import generate_generalisation_images as ggi
    from condpdiff.image.generalisation import plot_generalisation as pg
    from condpdiff.image.generalisation import sample_generalisation_candidates as sgc
    from condpdiff.image.generalisation import score_generalisation as sg
    from condpdiff.image.generalisation import train_generalisation_generator as tgg

    pipe = px.build_tiny_pipeline(px.TinyPixArtConfig(), seed=0)
    pipe.save_pretrained(tmp_path / "base")
    encode(pipe.text_encoder, pipe.tokenizer, PROMPTS, 120).save(tmp_path / "prompts.safetensors")
    split = make_split(tmp_path)
    h0 = make_params(tmp_path / "base", tmp_path / "h0.safetensors", [(1, 0.0), (1, 0.1)])
    h1 = make_params(tmp_path / "base", tmp_path / "h1.safetensors", [(1, 0.2), (1, 0.6)])
    p = {
        n: str(tmp_path / n)
        for n in (
            "set.safetensors",
            "set.json",
            "cond.safetensors",
            "cf.safetensors",
            "rf.safetensors",
            "grid.png",
            "gen",
            "cands.safetensors",
            "scores.json",
            "t.csv",
            "t.md",
            "t.html",
            "f.png",
        )
    }
    bgs.main(
        [
            "--harvest",
            str(h0),
            str(h1),
            "--styles",
            "toy",
            "toy2",
            "--points",
            "11",
            "--out",
            p["set.safetensors"],
            "--json",
            p["set.json"],
        ]
    )
    common = [
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
        "--set",
        p["set.safetensors"],
        "--extractor",
        TEST_EXTRACTOR,
        "--n-images",
        "4",
        "--steps",
        "2",
        "--resolution",
        "16",
        "--batch-size",
        "4",
        "--device",
        "cpu",
        "--threads",
        "1",
    ]
    ggi.main(
        common
        + [
            "--condition-images",
            "3",
            "--condition-seed",
            "1000",
            "--reference-images",
            "4",
            "--reference-seed",
            "2000",
            "--encoder-weights",
            "random",
            "--encoder-image-size",
            "32",
            "--conditions",
            p["cond.safetensors"],
            "--condition-features",
            p["cf.safetensors"],
            "--reference-features",
            p["rf.safetensors"],
            "--grid",
            p["grid.png"],
        ]
    )
    maps, info = gen.load_conditions(p["cond.safetensors"], 11)
    assert maps.shape[:2] == (11, 3) and info["condition_seed"] == 1000
    assert load_features(p["rf.safetensors"]).info["rows"] == [0, 2, 4, 6, 8, 10]
    tgg.main(
        [
            "--set",
            p["set.safetensors"],
            "--conditions",
            p["cond.safetensors"],
            "--out-dir",
            p["gen"],
            "--condition-pool",
            "mean",
            "--ae-channels",
            "4",
            "8",
            "--ae-latent-length",
            "8",
            "--ae-steps",
            "3",
            "--ae-threads",
            "1",
            "--diffusion-channels",
            "8",
            "16",
            "--diffusion-emb-dim",
            "8",
            "--diffusion-bottom-hidden",
            "8",
            "--diffusion-steps",
            "3",
            "--diffusion-threads",
            "1",
        ]
    )
    sgc.main(
        [
            "--set",
            p["set.safetensors"],
            "--conditions",
            p["cond.safetensors"],
            "--generator",
            p["gen"],
            "--sampler",
            "ddim3",
            "--num-candidates",
            "2",
            "--threads",
            "1",
            "--out",
            p["cands.safetensors"],
        ]
    )
    sg.main(
        common
        + [
            "--candidates",
            p["cands.safetensors"],
            "--condition-features",
            p["cf.safetensors"],
            "--reference-features",
            p["rf.safetensors"],
            "--condition-seed",
            "1000",
            "--select",
            "condition_fid",
            "--out",
            p["scores.json"],
            "--csv",
            p["t.csv"],
        ]
    )
    record = json.loads(Path(p["scores.json"]).read_text())
    assert [r["index"] for r in record["rows"]] == [0, 2, 4, 6, 8, 10]
    assert all(len(r["selection_fid"]) == 2 and r["selected"] in (0, 1) for r in record["rows"])
    assert record["rows"][0]["dist_nearest"] > 0 and record["rows"][0][
        "nearest_lambda"
    ] == pytest.approx(0.1)
    from condpdiff.image.generalisation import sample_generalisation_training as sgt

    sgt.main(
        [
            "--set",
            p["set.safetensors"],
            "--conditions",
            p["cond.safetensors"],
            "--generator",
            p["gen"],
            "--sampler",
            "ddim3",
            "--num-candidates",
            "2",
            "--threads",
            "1",
            "--out",
            str(tmp_path / "check.json"),
        ]
    )
    pg.main(
        [
            "--scores",
            p["scores.json"],
            "--training",
            str(tmp_path / "check.json"),
            "--md",
            p["t.md"],
            "--html",
            p["t.html"],
            "--png",
            p["f.png"],
        ]
    )
    assert Path(p["f.png"]).stat().st_size > 0 and "TRAINING l" in Path(p["t.md"]).read_text()
    with pytest.raises(SystemExit):  # the evaluation and condition images may not share noise
        sg.main(
            common
            + [
                "--seed",
                "1000",
                "--candidates",
                p["cands.safetensors"],
                "--condition-features",
                p["cf.safetensors"],
                "--reference-features",
                p["rf.safetensors"],
                "--condition-seed",
                "1000",
                "--out",
                p["scores.json"],
                "--csv",
                p["t.csv"],
            ]
        )


def test_image_smoke_dry_run_has_one_job_per_generalisation_step(tmp_path):
    import sys

    sys.path.insert(0, str(ROOT / "tests/pipeline"))
    from test_workflow import job_counts, snakemake

    config = yaml.safe_load((ROOT / "config/smoke_image.yaml").read_text())
    config["results_dir"] = str(tmp_path / "results")
    path = tmp_path / "image.yaml"
    path.write_text(yaml.safe_dump(config))
    out = snakemake("generalisation", "-n", "--configfile", str(path), "--quiet", "rules")
    assert out.returncode == 0, out.stderr[-3000:]
    counts = job_counts(out.stdout)
    steps = (
        "build_generalisation_set",
        "generate_generalisation_images",
        "train_generalisation_generator",
        "sample_generalisation_candidates",
        "score_generalisation",
        "plot_generalisation",
    )
    assert all(counts[s] == 1 for s in steps), counts
    assert (
        "train_image_autoencoder" not in counts and "generate_candidate_images" not in counts
    )  # Table 2 not needed


def test_condition_diagnosis_measures_position_and_distance():
    from condpdiff.analysis.generalisation_condition import measure

    gset = _set(11)
    m = measure(gset, [2, 4], torch.stack([gset.theta(2), gset.theta(6)]))
    assert m["rows"][0]["dist"] == pytest.approx(0.0, abs=1e-6) and m["rows"][1][
        "l_hat"
    ] == pytest.approx(0.6)
    assert m["mean_abs_l_error"] == pytest.approx(0.1) and m["l_hat_min"] == pytest.approx(0.2)
