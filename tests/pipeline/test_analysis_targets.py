"""The analyses target: one set of figures per default generator cell, every setting in its path."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from condpdiff.pipeline.analysis_targets import (
    AnalysisPaths,
    analysis_files,
    default_settings,
    setting_label,
)
from condpdiff.pipeline.config import check
from condpdiff.pipeline.image_paths import eval_part
from condpdiff.pipeline.targets import figure_target_files
from condpdiff.text.tasks import get_task

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = ROOT / "workflow/schemas/config.schema.yaml"
GEN = "tiny/r1/n20/layers-all/norm-task"


def test_text_files_hold_the_generator_setting(smoke_config):
    files = analysis_files(smoke_config)
    assert files == figure_target_files(smoke_config, "analyses")
    R = smoke_config["results_dir"]
    draw = f"{R}/analysis/{GEN}/pdiff/cond-onehot/ddim20"
    assert f"{R}/analysis/{GEN}/pdiff/cond-onehot/training_curves.png" in files
    for name in ("projection.png", "projection.json", "pca.safetensors", "trajectory.csv",
                 "nearest_checkpoint.png", "nearest_checkpoint.json"):  # fmt: skip
        assert f"{draw}/{name}" in files
    assert len(files) == len(set(files)) == 2 + 3 + 3 + 1 + 3


def test_schema_defaults_of_the_analysis_section(smoke_config):
    assert smoke_config["analysis"] == {
        "projection": {"components": 2},
        "trajectory": {"paths": 5, "points": 6},
        "curves": {"smoothing": 25},
    }


def test_image_files_put_fid_under_the_eval_part_and_each_rank_gets_its_own():
    config = yaml.safe_load((ROOT / "config/image_demo_cpu.yaml").read_text())
    config["image"]["lora"] = {"ranks": [1, 4], "alpha": {"1": 8, "4": 4}}
    check(config, SCHEMA, get_task)
    files = analysis_files(config)
    e = eval_part(config)
    near = [f for f in files if "nearest_checkpoint" in f]
    assert len(near) == 2 * 3 and all(f"/ddim50/{e}/nearest_checkpoint." in f for f in near)
    assert {f.split("/analysis/")[1].split("/")[1] for f in files} == {"r1", "r4"}
    assert [b for b, _ in default_settings(config)] == ["image", "image"]


def test_paths_and_labels_fill_wildcards():
    A = AnalysisPaths("R/")
    assert A.nearest_fid("csv", evalpart="E", backbone="b") == (
        "R/analysis/b/r{rank}{ftseed}/n{n}/layers-{layers}/norm-{norm}{unseen}{genseed}/{kind}/cond-{condition}/{draw}/E/nearest_checkpoint.csv"
    )
    w = {
        "backbone": "b",
        "rank": 1,
        "n": 5,
        "layers": "all",
        "norm": "task",
        "unseen": "",
        "condition": "c",
        "ftseed": "",
        "genseed": "",
    }
    assert (
        A.curves("png", **w)
        == "R/analysis/b/r1/n5/layers-all/norm-task/pdiff/cond-c/training_curves.png"
    )
    assert setting_label(w) == "b r1 n5 layers-all norm-task cond-c"
    assert setting_label({**w, "kind": "pdiff", "draw": "ddim9"}).endswith("pdiff cond-c ddim9")
    seeded = {**w, "ftseed": "-ftseed1", "genseed": "-genseed2"}
    assert setting_label(seeded) == "b r1 ftseed 1 n5 layers-all norm-task genseed 2 cond-c"


def test_analyses_use_the_first_seed_of_each_list(smoke_config):
    smoke_config["seeds"] = {"finetune": [1, 0], "generator": [2, 0]}
    files = analysis_files(smoke_config)
    R = smoke_config["results_dir"]
    assert f"{R}/analysis/tiny/r1-ftseed1/n20/layers-all/norm-task-genseed2" in files[0]
    assert all("-ftseed1/" in f and "-genseed2/" in f for f in files)


@pytest.mark.slow
def test_smoke_dry_run_of_analyses_scores_every_candidate_on_dev_on_demand(tmp_path):
    """`snakemake analyses` on the text smoke: the four figure jobs, and candidate_scores.json made
    on demand (scoring.dev_all_candidates stays false)."""
    config = yaml.safe_load((ROOT / "config/smoke.yaml").read_text())
    config["results_dir"] = str(tmp_path / "results")
    path = tmp_path / "smoke.yaml"
    path.write_text(yaml.safe_dump(config))
    exe = Path(sys.executable).with_name("snakemake")
    out = subprocess.run(
        [str(exe), "analyses", "-n", "--configfile", str(path), "--quiet", "rules"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    lines = out.stdout.splitlines()
    start = lines.index("Job stats:") + 3
    counts = {}
    for line in lines[start:]:
        parts = line.split()
        if len(parts) != 2 or parts[0] == "total":
            break
        counts[parts[0]] = int(parts[1])
    for rule in ("plot_training_curves", "plot_param_projection", "plot_sampling_trajectory",
                 "plot_nearest_checkpoint", "analyses"):  # fmt: skip
        assert counts[rule] == 1, counts
    assert counts["score_candidates"] == 3 and counts["sample_candidates"] == 3
    assert "plot_nearest_checkpoint_fid" not in counts and "score_selection" not in counts
