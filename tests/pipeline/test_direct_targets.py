"""The direct generator in the workflow layer: config checks, its paths, the tables' rows per
generator, table_direct and the DAG (no torch)."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml
from test_arms_targets import arm_entry  # tests/pipeline is on sys.path (pytest prepend mode)
from test_workflow import (
    job_counts,
    snakemake,
)

from condpdiff.pipeline.config import ConfigError, check
from condpdiff.pipeline.paths import Paths
from condpdiff.pipeline.targets import table_files, table_spec
from condpdiff.text.tasks import get_task

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = ROOT / "workflow/schemas/config.schema.yaml"
DIRECT = {"kind": "direct", "condition": "sentence-data", "sampler": "k8-layer-w0.75"}


def with_direct(smoke_config, **more) -> dict:
    config = copy.deepcopy(smoke_config)
    config["compare_generators"] = [dict(DIRECT)]
    config.update(more)
    return config


def test_direct_model_and_candidate_paths():
    P = Paths("R")
    w = dict(
        backbone="b",
        rank=1,
        n=5,
        layers="all",
        norm="task",
        unseen="",
        condition="sentence-data",
        recipe="k8-layer-w0.75",
        task="t",
        ftseed="",
        genseed="",
        control="",  # the generator's own draw (an audit arm: "-noise", ...)
    )
    gen = "R/generator/b/r1/n5/layers-all/norm-task/direct/cond-sentence-data/recipe-k8-layer-w0.75"
    assert P.direct("model.safetensors", **w) == f"{gen}/model/model.safetensors"
    assert P.candidates(kind="direct", **w) == f"{gen}/candidates/t.safetensors"


def test_table1_and_table_unseen_get_a_row_per_generator(smoke_config):
    config = with_direct(smoke_config, leave_one_out=["syn_topic"])
    config["generator"]["condition"] = "sentence-twoshot"
    check(config, SCHEMA, get_task)
    spec = table_spec(config, "table1")
    labels = [row["label"]["generator"] for row in spec["rows"] if row["label"]["arm"] == "soup"]
    assert labels == ["pdiff sentence-twoshot ddim20", "direct sentence-data k8-layer-w0.75"]
    pdiff, direct = (arm_entry(spec, "generated", "syn_topic", i)["replicates"] for i in (0, 1))
    assert "/pdiff/cond-sentence-twoshot/ddim20/" in pdiff[0]
    assert "/direct/cond-sentence-data/recipe-k8-layer-w0.75/syn_topic/" in direct[0]
    for arm in ("original", "soup"):
        assert arm_entry(spec, arm, "syn_topic", 0) == arm_entry(spec, arm, "syn_topic", 1)
    unseen = table_spec(config, "table_unseen")
    cells = unseen["rows"][1]["cells"]["syn_topic"]
    assert "/norm-task-without-syn_topic/direct/cond-sentence-data/" in cells["unseen"]
    assert len(table_files(unseen)) == 6  # unseen + seen per generator, original and no-LoRA shared


def test_one_generator_keeps_the_tables_as_they_were(smoke_config):
    config = copy.deepcopy(smoke_config)
    config["compare_generators"] = []
    config["targets"] = ["table1"]
    config["ablations"].pop("direct", None)
    check(config, SCHEMA, get_task)
    assert table_spec(config, "table1")["rows"][0]["label"] == {
        "backbone": "tiny",
        "rank": 1,
        "arm": "generated",
    }


def test_table_direct_rows_are_recipes(smoke_config):
    config = with_direct(smoke_config)
    config["ablations"]["direct"] = ["k8-layer-w0.75", "k8-flat-w0"]
    check(config, SCHEMA, get_task)
    spec = table_spec(config, "table_direct")
    assert [row["label"] for row in spec["rows"]] == [
        {"recipe": "k8-layer-w0.75"},
        {"recipe": "k8-flat-w0"},
    ]
    generated = spec["rows"][1]["cells"]["syn_topic"]["generated"]
    assert "/direct/cond-sentence-data/recipe-k8-flat-w0/" in generated
    assert spec["kind"] == "ablation"


def test_image_table2_rows_per_generator():
    config = yaml.safe_load((ROOT / "config/smoke_image.yaml").read_text())
    check(config, SCHEMA, get_task)
    spec = table_spec(config, "table2")
    generated = [row for row in spec["rows"] if row["label"]["arm"] == "generated"]
    assert [row["label"]["generator"].split()[0] for row in generated] == ["pdiff", "direct"]
    style = spec["tasks"][0]
    path = generated[1]["cells"][style]["score"]["replicates"][0]
    assert "/direct/cond-resnet18-image/recipe-k4-layer-w0.75/" in path


@pytest.mark.parametrize(
    "edit, key, words",
    [
        (
            lambda c: c["generator"].update(condition="sentence-data"),
            "generator.condition",
            "data condition",
        ),
        (
            lambda c: c["compare_generators"][0].update(sampler="ddim50"),
            "compare_generators[0].sampler",
            "needs a recipe",
        ),
        (lambda c: c["generator"].update(sampler="k8-flat-w0"), "generator.sampler", "ddim<steps>"),
        (
            lambda c: c["compare_generators"][0].update(condition="resnet18-image"),
            "compare_generators[0].condition",
            "expected one of",
        ),
        (lambda c: c.update(compare_generators=[]), "ablations.direct", "kind 'direct'"),
        (
            lambda c: c["compare_generators"].append(dict(DIRECT)),
            "compare_generators[1]",
            "listed twice",
        ),
        (
            lambda c: c.update(
                compare_generators=[{**DIRECT, "condition": "onehot"}],
                leave_one_out=["syn_topic"],
                generator={**c["generator"], "condition": "sentence-twoshot"},
            ),
            "leave_one_out",
            "onehot' of compare_generators[0] is an index",
        ),
    ],
)
def test_bad_generator_settings_name_the_key(smoke_config, edit, key, words):
    config = with_direct(smoke_config)
    edit(config)
    with pytest.raises(ConfigError) as info:
        check(config, SCHEMA, get_task)
    assert info.value.key == key and words in str(info.value)


def test_image_generalisation_and_analyses_need_the_diffusion_generator():
    config = yaml.safe_load((ROOT / "config/smoke_image.yaml").read_text())
    config["image"]["generator"].update(kind="direct", sampler="k4-layer-w0")
    config["image"]["compare_generators"] = []
    config["targets"] = ["table2", "generalisation"]
    with pytest.raises(ConfigError, match="generalisation"):
        check(copy.deepcopy(config), SCHEMA, get_task)
    config["targets"] = ["table2", "analyses"]
    with pytest.raises(ConfigError, match="analyses"):
        check(copy.deepcopy(config), SCHEMA, get_task)
    config["targets"] = ["table2", "table2_cross", "interpolation"]
    check(config, SCHEMA, get_task)  # every other image target runs on the direct generator


def test_direct_as_the_default_generator_serves_every_text_table(smoke_config):
    config = copy.deepcopy(smoke_config)
    config["generator"].update(kind="direct", sampler="k1-layer-w0")
    config.update(
        compare_generators=[],
        targets=["table1", "table_cross", "table3", "table4a", "table_direct"],
    )
    config["ablations"]["direct"] = ["k1-layer-w0", "k1-flat-w0"]
    check(config, SCHEMA, get_task)
    for table in config["targets"]:
        files = table_files(table_spec(config, table))
        generated = [f for f in files if f.endswith(("generated.json", "cross.json"))]
        assert generated and all("/direct/cond-onehot/recipe-k1-" in f for f in generated), table


@pytest.mark.slow
def test_dry_run_trains_one_direct_generator_per_recipe_and_left_out_task(tmp_path):
    config = yaml.safe_load((ROOT / "config/smoke.yaml").read_text())
    config.update(
        results_dir=str(tmp_path / "results"),
        leave_one_out=["syn_topic"],
        targets=["table1", "table_unseen", "table_direct"],
        seeds={"finetune": [0], "generator": [0]},  # one generator per recipe
    )
    config["generator"]["condition"] = "sentence-twoshot"
    config["compare_generators"][0]["condition"] = (
        "sentence-data"  # leave-one-out needs content conditions
    )
    path = tmp_path / "direct.yaml"
    path.write_text(yaml.safe_dump(config))
    out = snakemake("-n", "--configfile", str(path), "--quiet", "rules")
    assert out.returncode == 0, out.stderr[-3000:]
    counts = job_counts(out.stdout)
    assert (
        counts["train_direct"] == 3
    )  # k1-layer-w0.75 (every task, without syn_topic) + k1-flat-w0
    assert counts["sample_direct"] == 3 + 1 + 3 and counts["encode_data_condition"] == 3
    P = Paths(config["results_dir"])
    model = P.direct(
        "model.safetensors",
        backbone="tiny",
        rank=1,
        n=20,
        layers="all",
        norm="task",
        unseen="-without-syn_topic",
        condition="sentence-data",
        recipe="k1-layer-w0.75",
        ftseed="",
        genseed="",
    )
    out = snakemake(model, "-n", "--configfile", str(path), "-p")
    assert out.returncode == 0, out.stderr[-3000:]
    assert (
        "--tasks syn_sentiment syn_overlap" in out.stdout
        and "--recipe k1-layer-w0.75" in out.stdout
    )
