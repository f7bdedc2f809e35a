"""The Snakefile: a bad config stops it before any job, its DAG has the expected jobs under the
current rule names, and parsing it imports no torch (the DAG is built on a login node)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from condpdiff.pipeline.paths import Paths
from condpdiff.pipeline.tables import IMAGE_TABLES, TABLES

# table_unseen needs a content condition and `leave_one_out` (tests/pipeline/test_leave_one_out.py)
TEXT_TABLES = [t for t in TABLES if t not in IMAGE_TABLES and t != "table_unseen"]

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("torch", "transformers", "peft", "diffusers", "open_clip", "torchvision")


def smoke() -> dict:
    return yaml.safe_load((ROOT / "config/smoke.yaml").read_text())


def snakemake(*args, env=None):
    """Snakemake in the repository root (the workflow's working directory), whatever our cwd."""
    exe = Path(sys.executable).with_name("snakemake")
    return subprocess.run(
        [str(exe), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **(env or {})},
    )


def job_counts(text: str) -> dict[str, int]:
    """The first 'Job stats' table of a dry run: rule -> job count."""
    lines = text.splitlines()
    start = lines.index("Job stats:") + 3  # title, header, rule
    counts = {}
    for line in lines[start:]:
        parts = line.split()
        if len(parts) != 2 or parts[0] == "total":
            break
        counts[parts[0]] = int(parts[1])
    return counts


@pytest.fixture(scope="module")
def dry_run(tmp_path_factory):
    """One dry run of every table and one exported adapter of the smoke config (results in a
    temporary folder), with Python's import-time profile on stderr."""
    tmp = tmp_path_factory.mktemp("dry_run")
    config = smoke()
    config["results_dir"] = str(tmp / "results")
    config["targets"] = TEXT_TABLES
    path = tmp / "smoke_all.yaml"
    path.write_text(yaml.safe_dump(config))
    adapter = Paths(config["results_dir"]).adapter(
        backbone="tiny", rank=1, n=20, layers="all", norm="task", unseen="", kind="pdiff",
        condition="onehot", sampler="ddim20", task="syn_topic", sel_n=64, sel_seed=0, sel_pool="",
        sel_race="", ftseed="", genseed="",
    )  # fmt: skip
    out = snakemake("all", adapter, "-n", "--configfile", str(path), "--quiet", "rules",
                    env={"PYTHONPROFILEIMPORTTIME": "1"})  # fmt: skip
    assert out.returncode == 0, out.stderr[-3000:]
    return out


def test_snakemake_stops_before_any_job_on_a_bad_config(tmp_path):
    config = smoke()
    config["finetune"]["epoch"] = 3
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(config))
    out = snakemake("-n", "--configfile", str(bad))
    assert out.returncode != 0
    assert "config key 'finetune.epoch': unknown key" in out.stdout + out.stderr
    assert "Job stats" not in out.stdout


def test_dry_run_lists_the_expected_jobs(dry_run):
    counts = job_counts(dry_run.stdout)
    # config/smoke.yaml has two generator seeds (seeds.generator [0, 1]): table1 runs both, every
    # other table seed 0
    assert counts == {
        "build_tiny_backbone": 1,
        "make_synthetic_task": 3,
        "write_task": 3,
        "write_table_spec": len(TEXT_TABLES),
        "finetune_lora": 3,
        "score_harvest": 3,
        "score_soup": 3,
        "score_nolora": 3,  # table1's no-LoRA row
        "make_text_nolora_cell": 3,
        "make_original_cell": 6,  # n = 1 and 20 (table3)
        "make_soup_cell": 3,
        "encode_condition": 6,  # onehot and learnable (table4b)
        "make_null_condition": 3,  # the audit's -null arm
        "compute_norm_stats": 4 + 1,  # default, n=1, norm none, layers 0-0; + generator seed 1
        "train_autoencoder": 4 + 1,
        "train_diffusion": 5 + 1,  # + the learnable condition; + generator seed 1
        "score_recon": 3,
        "make_recon_cell": 3,
        "sample_candidates": 18 + 3,
        # the compared direct generator k1-layer-w0.75 (table1, table_direct) + k1-flat-w0;
        # + table1's generator seed 1
        "train_direct": 2 + 1,
        "sample_direct": 6 + 3,
        # table1's audit arms, per generator seed x kind (pdiff, direct) x task: -null and
        # -shuffled sampled, -noise made from checkpoints, and the memorisation cell of the
        # generator's own draw
        "sample_control_candidates": 2 * 2 * 3,
        "sample_control_direct": 2 * 2 * 3,
        "make_noise_candidates": 2 * 2 * 3,
        "make_memorisation_cell": 2 * 2 * 3,
        # 24 draws of the tables at seed 0 + table1's 2 kinds x 3 tasks at seed 1
        # + 3 arms x 2 kinds x 3 tasks x 2 seeds
        "score_selection": 24 + 6 + 36,
        # dev for the selected candidate only (scoring.dev_all_candidates: false)
        "score_selected": 24 + 6 + 36,
        "make_generated_cell": 24 + 6 + 36,
        "score_cross_task": 6,  # 3 x 3 minus the diagonal (the generated cells)
        "make_cross_cell": 6,
        "export_adapter": 1,
        "make_table": len(TEXT_TABLES),
        "all": 1,
    }, counts
    for old in (
        "norm_stats",
        "select_original",
        "select_candidate",
        "summarize_recon",
        "merge_adapter",
    ):
        assert old not in counts


def test_image_smoke_dry_run_lists_the_image_jobs(tmp_path):
    """The image smoke: 3 styles, a tiny base built and pretrained by rules, every table2 arm,
    the cross-style check and the screen; the text rules are not even loaded (no 'tasks')."""
    config = yaml.safe_load((ROOT / "config/smoke_image.yaml").read_text())
    config["results_dir"] = str(tmp_path / "results")
    path = tmp_path / "image.yaml"
    path.write_text(yaml.safe_dump(config))
    out = snakemake("-n", "--configfile", str(path), "--quiet", "rules")
    assert out.returncode == 0, out.stderr[-3000:]
    counts = job_counts(out.stdout)
    styles, ftseeds = 3, 2  # config/smoke_image.yaml: seeds.finetune [0, 1]
    assert counts["finetune_style_lora"] == styles * ftseeds and counts["pretrain_base"] == 1
    kinds = 2  # pdiff and the compared direct generator
    draws = 1 + 3  # its own candidates and table2's audit arms (-noise, -null, -shuffled)
    assert (
        counts["generate_candidate_images"] == ftseeds * kinds * styles * draws
        and counts["score_selection_fid"] == ftseeds * kinds * styles * draws
    )
    assert counts["train_direct"] == ftseeds and counts["sample_direct"] == ftseeds * styles
    assert (
        counts["extract_real_features"] == 2 * styles
    )  # train (selection) and reference (reporting), whatever the seed
    assert counts["score_cross_fid"] == styles * (styles - 1) and counts["render_figure"] == styles
    assert counts["train_image_autoencoder"] == ftseeds and "finetune_lora" not in counts


def test_dev_all_candidates_scores_every_candidate_on_dev(tmp_path):
    config = smoke()
    config["results_dir"] = str(tmp_path / "results")
    config["scoring"]["dev_all_candidates"] = True
    path = tmp_path / "smoke_dev_all.yaml"
    path.write_text(yaml.safe_dump(config))
    out = snakemake("all", "-n", "--configfile", str(path), "--quiet", "rules")
    assert out.returncode == 0, out.stderr[-3000:]
    counts = job_counts(out.stdout)
    # table1 (config/smoke.yaml: two generator seeds) x (pdiff + direct, 3 tasks, + 3 audit arms
    # each); table_direct's other recipe (k1-flat-w0) at seed 0
    assert counts["score_candidates"] == 2 * (2 * 3 + 3 * 2 * 3) + 3
    assert "score_selected" not in counts


def test_dag_parse_imports_no_torch(dry_run):
    """Every module Python imported while Snakemake parsed the workflow
    (`-X importtime` profile)."""
    profile = [line for line in dry_run.stderr.splitlines() if line.startswith("import time:")]
    assert len(profile) > 100  # the profile is really there (else the check below proves nothing)
    modules = {line.split("|")[-1].strip() for line in profile}
    assert "condpdiff.pipeline.targets" in modules and "snakemake" in modules
    heavy = sorted(m for m in modules if m.split(".")[0] in HEAVY)
    assert not heavy, f"parsing the workflow imports {heavy[:10]}"
    assert not [line for line in profile if line.rstrip().endswith("| torch")]


def test_no_audit_arms_runs_no_audit_rule(tmp_path):
    """`audit.arms: []`: table1 keeps its generated / original / soup / no-LoRA rows and no audit
    rule is scheduled."""
    config = smoke()
    config["results_dir"] = str(tmp_path / "results")
    config["targets"] = ["table1"]
    config["audit"] = {"arms": []}
    path = tmp_path / "no_audit.yaml"
    path.write_text(yaml.safe_dump(config))
    out = snakemake("all", "-n", "--configfile", str(path), "--quiet", "rules")
    assert out.returncode == 0, out.stderr[-3000:]
    counts = job_counts(out.stdout)
    # two generator seeds (config/smoke.yaml) x pdiff and direct x 3 tasks, no arm draws
    assert counts["make_generated_cell"] == 2 * 2 * 3
    for rule in (
        "make_null_condition",
        "sample_control_candidates",
        "sample_control_direct",
        "make_noise_candidates",
    ):
        assert rule not in counts, rule
    assert counts["make_memorisation_cell"] == 2 * 2 * 3  # the memorisation row needs no arm
