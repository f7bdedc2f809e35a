"""Table specs from a config: which cell files make each table, and the scoring flags (no torch)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from test_arms_targets import arm_entry  # tests/pipeline is on sys.path (pytest prepend mode)

from condpdiff.pipeline import settings, targets
from condpdiff.pipeline.targets import cell_path, selection_dir, table_files, table_spec

ROOT = Path(__file__).resolve().parents[2]
SETTING = {
    "n": 20,
    "layers": "all",
    "norm": "task",
    "kind": "pdiff",
    "condition": "onehot",
    "sampler": "ddim20",
}


@pytest.fixture
def config(smoke_config) -> dict:
    return smoke_config


def test_specs_from_config(config):
    config["backbones"]["other"] = config["backbones"]["tiny"]
    config["compare_generators"] = []  # one generator (two: tests/pipeline/test_direct_targets.py)
    config["seeds"] = {"finetune": [0], "generator": [0]}  # seeds: test_arms_targets.py
    t1 = table_spec(config, "table1")  # the arms layout: tests/pipeline/test_arms_targets.py
    assert t1["kind"] == "arms"
    assert [r["label"] for r in t1["rows"] if r["label"]["arm"] == "generated"] == [
        {"backbone": "tiny", "rank": 1, "arm": "generated"},
        {"backbone": "other", "rank": 1, "arm": "generated"},
    ]
    assert arm_entry(t1, "generated", "syn_topic")["replicates"] == [
        "results/smoke/scores/tiny/r1/n20/layers-all/norm-task/pdiff/cond-onehot/ddim20/syn_topic/sel64-seed0/generated.json"
    ]
    assert arm_entry(t1, "original", "syn_topic")["replicates"] == [
        "results/smoke/scores/tiny/r1/n20/syn_topic/original.json"
    ]
    assert arm_entry(t1, "soup", "syn_topic")["replicates"] == [
        "results/smoke/scores/tiny/r1/n20/syn_topic/soup.json"
    ]
    t3 = table_spec(config, "table3")  # ablations on the first backbone, varying n only
    assert t3["kind"] == "ablation" and t3["columns"] == ["generated", "original"]
    assert [r["label"] for r in t3["rows"]] == [{"n": 1}, {"n": 20}]
    assert t3["rows"][0]["cells"]["syn_topic"]["generated"].startswith(
        "results/smoke/scores/tiny/r1/n1/layers-all/"
    )
    assert t3["rows"][0]["cells"]["syn_topic"]["original"].endswith(
        "/tiny/r1/n1/syn_topic/original.json"
    )
    # per backbone and task: generated, 3 audit arms, original, soup, no LoRA, memorisation
    assert len(table_files(t1)) == 2 * 3 * 8
    recon = table_spec(config, "table_recon")["rows"][0]["cells"]["syn_topic"]
    assert recon["recon"].endswith(
        "n20/layers-all/norm-task/pdiff/autoencoder/syn_topic/recon.json"
    )
    assert recon["recon_mean"] == {"path": recon["recon"], "field": "mean"}
    flags = settings.scoring_flags(config, ["dev"])
    assert "--splits dev" in flags and "selection" not in flags and "--max-length 32" in flags
    assert "--max-dev-examples" in flags


def test_every_table_name_has_a_spec(config):
    from condpdiff.pipeline.config import check
    from condpdiff.pipeline.tables import IMAGE_TABLES, TABLES
    from condpdiff.text.tasks import get_task

    image = yaml.safe_load((ROOT / "config/smoke_image.yaml").read_text())
    check(image, ROOT / "workflow/schemas/config.schema.yaml", get_task)
    image["image"]["leave_one_out"] = list(image["image"]["styles"])[
        :1
    ]  # table2_unseen / table_unseen
    config["leave_one_out"] = ["syn_topic"]
    for name in TABLES:
        spec = table_spec(image if name in IMAGE_TABLES else config, name)
        assert (
            spec["name"] == name
            and spec["kind"] in ("plain", "ablation", "cross", "arms")
            and table_files(spec)
        )
    with pytest.raises(ValueError, match="unknown table 'table9'"):
        table_spec(config, "table9")


def test_selection_split_is_in_the_cell_path_not_in_the_flags(config):
    """Another selection size or seed is another file: the dev scores and other cells stay valid."""
    assert selection_dir(config) == "sel64-seed0"
    flags = settings.scoring_flags(config, ["selection"])
    assert (
        "--splits selection" in flags
        and "--selection-examples" not in flags
        and "--max-dev-examples" not in flags
    )
    config["scoring"] = {
        **config["scoring"],
        "selection_examples": 1000,
        "selection_seed": 3,
        "selection_from": "train",
    }

    def t1(arm: str = "generated") -> str:
        return arm_entry(table_spec(config, "table1"), arm, "syn_topic")["replicates"][0]

    assert t1().endswith("/pdiff/cond-onehot/ddim20/syn_topic/sel1000-seed3/generated.json")
    assert t1("original").endswith("/n20/syn_topic/original.json")
    config["scoring"]["selection_from"] = "heldout"
    assert t1().endswith("/ddim20/syn_topic/sel1000-seed3-heldout/generated.json")
    config["scoring"]["selection_race"] = 125  # successive halving: another selection, another file
    assert t1().endswith("/ddim20/syn_topic/sel1000-seed3-heldout-race125/generated.json")
    with pytest.raises(ValueError, match="selection split"):
        cell_path("R", "generated", "tiny", 1, "syn_topic", SETTING)


def test_cross_task_spec_has_the_generated_cells_on_its_diagonal(config):
    spec = table_spec(config, "table_cross")
    tasks = config["tasks"]
    assert spec["kind"] == "cross"
    assert [r["label"]["generated_for"] for r in spec["rows"]] == tasks
    t1 = table_spec(config, "table1")
    for row in spec["rows"]:
        source = row["label"]["generated_for"]
        for task in tasks:
            path = row["cells"][task]["score"]
            if task == source:
                assert path == arm_entry(t1, "generated", task)["replicates"][0]
            else:
                assert path.endswith(
                    f"/pdiff/cond-onehot/ddim20/{task}/sel64-seed0/from-{source}/cross.json"
                )


def test_all_targets_are_csv_markdown_and_html(config):
    config["targets"] = ["table1", "table_cross"]
    assert targets.all_targets(config) == [
        f"results/smoke/tables/{t}.{ext}"
        for t in ("table1", "table_cross")
        for ext in ("csv", "md", "html")
    ]


def test_a_text_table_on_a_config_without_text_tasks_is_a_named_error():
    from condpdiff.pipeline.targets import table_spec

    with pytest.raises(ValueError, match=r"'table_direct' is a text table.*config key 'tasks'"):
        table_spec({"results_dir": "results/x", "tasks": []}, "table_direct")
