"""Leave-one-out (table_unseen, table2_unseen): the generator path part, the config checks, the
table specs and the DAG of a generator trained without one task (no torch)."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml
from test_workflow import (  # tests/pipeline is on sys.path (pytest prepend mode)
    job_counts,
    snakemake,
)

from condpdiff.pipeline.config import ConfigError, check
from condpdiff.pipeline.paths import GEN_PART, Paths, unseen_part, unseen_task
from condpdiff.pipeline.targets import UNSEEN_COLUMNS, table_files, table_spec
from condpdiff.text.tasks import get_task

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = ROOT / "workflow/schemas/config.schema.yaml"


def loo_config(smoke_config, left_out=("syn_topic",)) -> dict:
    config = copy.deepcopy(smoke_config)
    config["generator"]["condition"] = "sentence-twoshot"
    config["leave_one_out"] = list(left_out)
    config.update(
        compare_generators=[], targets=["table1"]
    )  # one generator here (test_direct_targets.py: two)
    return config


def test_unseen_part_round_trip_and_generator_path():
    assert unseen_part(None) == "" and unseen_task("") is None
    assert unseen_part("sst2") == "-without-sst2" and unseen_task("-without-sst2") == "sst2"
    with pytest.raises(ValueError, match="not an unseen-task path part"):
        unseen_task("-with-sst2")
    assert "norm-{norm}{unseen}" in GEN_PART
    P = Paths("R")
    w = dict(
        backbone="b",
        rank=1,
        n=5,
        layers="all",
        norm="task",
        kind="pdiff",
        condition="sentence-twoshot",
        sampler="ddim20",
        task="t",
        ftseed="",
        genseed="",
    )
    assert (
        P.candidates(**w, unseen="")
        == "R/generator/b/r1/n5/layers-all/norm-task/pdiff/cond-sentence-twoshot/ddim20/"
        "candidates/t.safetensors"
    )
    assert P.candidates(**w, unseen=unseen_part("t")).startswith(
        "R/generator/b/r1/n5/layers-all/norm-task-without-t/"
    )
    nolora = P.nolora("nolora", backbone="b", rank=1, ftseed="", task="t")
    assert nolora == "R/scores/b/r1/t/nolora.json"


def test_table_unseen_cells(smoke_config):
    config = loo_config(smoke_config, ["syn_topic", "syn_overlap"])
    check(config, SCHEMA, get_task)
    spec = table_spec(config, "table_unseen")
    assert spec["tasks"] == ["syn_topic", "syn_overlap"] and spec["columns"] == list(UNSEEN_COLUMNS)
    cells = spec["rows"][0]["cells"]["syn_overlap"]
    assert "/norm-task-without-syn_overlap/pdiff/cond-sentence-twoshot/" in cells["unseen"]
    assert cells["unseen"].endswith("/syn_overlap/sel64-seed0/generated.json")
    assert cells["seen"] == cells["unseen"].replace("-without-syn_overlap", "")
    assert cells["nolora"] == "results/smoke/scores/tiny/r1/syn_overlap/nolora.json"
    assert cells["original"] == "results/smoke/scores/tiny/r1/n20/syn_overlap/original.json"
    assert len(table_files(spec)) == 2 * 4
    with pytest.raises(ValueError, match="lists no task to leave out"):
        table_spec(loo_config(smoke_config, []), "table_unseen")


def test_table2_unseen_cells():
    config = yaml.safe_load((ROOT / "config/smoke_image.yaml").read_text())
    style = list(config["image"]["styles"])[1]
    config["image"]["leave_one_out"] = [style]
    check(config, SCHEMA, get_task)
    spec = table_spec(config, "table2_unseen")
    cells = spec["rows"][0]["cells"][style]
    assert f"-without-{style}/" in cells["unseen"] and "-without-" not in cells["seen"]
    assert cells["unseen"].replace(f"-without-{style}", "") == cells["seen"]
    assert "/nolora/" in cells["nolora"] and spec["digits"] == 2


@pytest.mark.parametrize(
    "edit, words",
    [
        (lambda c: c.update(leave_one_out=["sst2"]), "not among the configured tasks"),
        (lambda c: c.update(leave_one_out=["syn_topic", "syn_topic"]), "listed twice"),
        (lambda c: c["generator"].update(condition="onehot"), "is an index of the training tasks"),
        (lambda c: c.update(leave_one_out=[], targets=["table_unseen"]), "needs at least one task"),
        (lambda c: c.update(tasks=["syn_topic", "syn_overlap"]), "fewer than two"),
    ],
)
def test_bad_leave_one_out_names_the_key(smoke_config, edit, words):
    config = loo_config(smoke_config)
    edit(config)
    with pytest.raises(ConfigError) as info:
        check(config, SCHEMA, get_task)
    assert info.value.key == "leave_one_out" and words in str(info.value)


@pytest.mark.slow
def test_dry_run_trains_one_generator_per_left_out_task(tmp_path, smoke_config):
    """Per left-out task: stats, autoencoder (no reconstructions) and diffusion on the other tasks,
    candidates and selection for the left-out task; plus the no-LoRA cells."""
    config = yaml.safe_load((ROOT / "config/smoke.yaml").read_text())
    config.update(
        results_dir=str(tmp_path / "results"),
        leave_one_out=["syn_topic", "syn_overlap"],
        targets=["table_unseen"],
    )
    config["generator"]["condition"] = "sentence-twoshot"
    config["compare_generators"] = []
    path = tmp_path / "loo.yaml"
    path.write_text(yaml.safe_dump(config))
    out = snakemake("-n", "--configfile", str(path), "--quiet", "rules")
    assert out.returncode == 0, out.stderr[-3000:]
    counts = job_counts(out.stdout)
    assert counts["train_unseen_autoencoder"] == 2 and counts["train_autoencoder"] == 1
    assert counts["compute_norm_stats"] == 3 and counts["train_diffusion"] == 3
    assert counts["make_generated_cell"] == 4  # unseen + seen for each left-out task
    assert counts["score_nolora"] == 2 and counts["make_text_nolora_cell"] == 2
    P = Paths(config["results_dir"])
    stats = P.norm_stats(
        backbone="tiny",
        rank=1,
        ftseed="",
        n=20,
        layers="all",
        norm="task",
        unseen="-without-syn_topic",
        genseed="",
    )
    out = snakemake(stats, "-n", "--configfile", str(path), "-p")
    assert out.returncode == 0, out.stderr[-3000:]
    assert "--tasks syn_sentiment syn_overlap" in out.stdout and "--unseen syn_topic" in out.stdout
