"""The rebuild command an artifact error prints really rebuilds the file, even where the outputs
made from it exist (where "delete it and rerun snakemake" did nothing), and the job that read it
then succeeds."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from condpdiff.pipeline import recovery
from condpdiff.pipeline.paths import Paths
from condpdiff.pipeline.recovery import rebuild_command, rebuild_hint, writing_rule

ROOT = Path(__file__).resolve().parents[2]
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))
GEN = "results/x/generator/tiny/r1/n20/layers-all/norm-task"


def snakemake(*args) -> subprocess.CompletedProcess:
    """Snakemake in the repository root (the workflow folder), as a user types it there."""
    return subprocess.run([SNAKEMAKE, *args], cwd=ROOT, capture_output=True, text=True, timeout=600)


@pytest.mark.parametrize(
    "path, rule",
    [
        (
            "results/x/finetune/tiny/r1/sst2/harvest.safetensors",
            "finetune_lora (images: finetune_style_lora)",
        ),
        (
            "results/x/generator/tiny/r1/n20/layers-all/norm-task/stats.safetensors",
            "compute_norm_stats",
        ),
        (
            f"{GEN}-without-rte/pdiff/autoencoder/model.safetensors",
            "train_unseen_autoencoder",
        ),
        (
            f"{GEN}/direct/cond-onehot/recipe-k1-flat-w0/candidates/a.safetensors",
            "sample_direct",
        ),
        (
            f"{GEN}/pdiff/cond-onehot/ddim20/candidates/a.safetensors",
            "sample_candidates",
        ),
        ("results/x/conditions/sentence-data/sst2.safetensors", "encode_data_condition"),
        ("results/x/scores/tiny/r1/n20/sst2/original.json", "make_original_cell"),
        ("results/x/scores/tiny/r1/sst2/nolora.json", "make_text_nolora_cell"),
        ("results/i/image/eval/e1/scores/tiny/r4/stl06/harvest_scores.json", "score_harvest_fid"),
        (
            "results/i/image/eval/e1/scores/tiny/r4/n8/stl06/original.json",
            "make_original_image_cell",
        ),
        ("results/x/tables/table1.csv", None),
    ],
)
def test_the_hint_names_the_rule_and_forces_the_file_itself(path, rule, monkeypatch):
    monkeypatch.setenv(recovery.CONFIG_ENV, "config/smoke.yaml 'my overlay.yaml'")
    assert writing_rule(path) == rule
    assert (
        rebuild_command(path)
        == f"snakemake {path} --force --cores all --configfile config/smoke.yaml 'my overlay.yaml'"
    )
    hint = rebuild_hint(path)
    assert f"`{rebuild_command(path)}`" in hint and ("delete" not in hint)
    assert (
        (f"reruns rule {rule} for this file" in hint)
        if rule
        else ("if a workflow rule writes it" in hint)
    )
    monkeypatch.delenv(recovery.CONFIG_ENV)
    assert rebuild_command(path).endswith(
        "--configfile <your config file(s)>"
    )  # outside a workflow run


@pytest.mark.parametrize(
    "inside, folder, rule",
    [
        (
            f"{GEN}/pdiff/cond-onehot/ddim20/export/stats.safetensors",
            f"{GEN}/pdiff/cond-onehot/ddim20/export",
            "export_generator",
        ),
        (
            f"{GEN}/direct/cond-onehot/recipe-k1-flat-w0/export/networks/direct/model.safetensors",
            f"{GEN}/direct/cond-onehot/recipe-k1-flat-w0/export",
            "export_direct_generator",
        ),
    ],
)
def test_a_file_inside_an_exported_generator_rebuilds_its_folder(inside, folder, rule):
    # the export folder is one directory() output: forcing a file inside it would fail
    assert writing_rule(inside) == rule
    assert rebuild_command(inside).startswith(f"snakemake {folder} --force ")
    assert f"reruns rule {rule}" in rebuild_hint(inside)


@pytest.mark.slow
def test_following_the_hint_rebuilds_a_bad_harvest_under_existing_scores(tmp_path):
    """A harvest replaced by another task's (its info says syn_topic) under an existing score cache:
    a plain run does nothing; the next job that reads it names the file and a command; that command
    rebuilds the harvest, and the next run runs the job that failed (and would rescore the harvest
    if it differed: fine-tuning is seeded, so it is the same file and its scores stand)."""
    from condpdiff.params.paramfile import ParamSet

    config = yaml.safe_load((ROOT / "config/smoke.yaml").read_text())
    config["results_dir"] = str(tmp_path / "results")
    config["data"]["synthetic"] = {"train_size": 64, "dev_size": 32, "seed": 0}
    config["finetune"]["epochs"] = (
        5  # 4 batches x 5 epochs = 20 steps: the 20 harvested checkpoints
    )
    configfile = tmp_path / "h2 smoke.yaml"  # a space: the printed command quotes it
    configfile.write_text(yaml.safe_dump(config))
    P = Paths(config["results_dir"])
    w = {"backbone": "tiny", "rank": 1, "ftseed": "", "task": "syn_sentiment"}
    harvest, scores = Path(P.harvest(**w)), Path(P.harvest_scores(**w))
    soup = Path(P.baseline("soup_scores", n=20, **w))
    # mtime alone decides what reruns here: whether the bad file itself makes anything rerun (not a
    # code change that another session makes to this checkout while the test runs)
    run = ("--cores", "2", "--configfile", str(configfile), "--rerun-triggers", "mtime")

    built = snakemake(str(scores), *run)
    assert built.returncode == 0, built.stderr[-3000:]
    good = ParamSet.load(harvest)
    swapped = ParamSet(
        good.params,
        good.layout,
        good.steps,
        good.loss,
        good.heads,
        {**good.info, "task": "syn_topic"},
    )
    stamp = harvest.stat()
    swapped.save(harvest)
    os.utime(
        harvest, ns=(stamp.st_atime_ns, stamp.st_mtime_ns)
    )  # as `cp -p` would: nothing reruns by itself
    plain = snakemake(str(scores), *run)
    assert "Nothing to be done" in plain.stdout + plain.stderr

    failed = snakemake(str(soup), *run)  # a job that reads the harvest
    assert failed.returncode != 0 and not soup.exists()
    log = Path(P.log("score_soup", "tiny_r1_n20_syn_sentiment")).read_text()
    print(log[-2000:])
    assert (
        f"{harvest}: parameter file made for another task; expected task 'syn_sentiment' (what "
        "condpdiff.text.score expects); found task 'syn_topic'"
    ) in log
    command = re.search(r"To rebuild: run `([^`]+)`", log).group(1)
    assert (
        command
        == f"snakemake {harvest} --force --cores all --configfile {shlex.quote(str(configfile))}"
    )

    argv = shlex.split(command)
    assert argv[0] == "snakemake"
    rebuilt = snakemake(*argv[1:])  # the command as printed, in the workflow folder
    assert rebuilt.returncode == 0, rebuilt.stderr[-3000:]
    again = ParamSet.load(harvest, {"task": "syn_sentiment"})
    assert again.info == good.info and bool((again.params == good.params).all())
    rerun = snakemake(str(scores), str(soup), *run)  # the user's next run
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert soup.is_file() and json.loads(soup.read_text())["info"]["task"] == "syn_sentiment"
