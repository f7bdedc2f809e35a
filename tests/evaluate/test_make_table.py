"""Tables from fixture cell files: layout, averages, missing cells, CLI."""

from __future__ import annotations

import json
import math

import pytest

from condpdiff.evaluate import make_table as tables
from condpdiff.util.atomic import write_json


@pytest.fixture
def spec(tmp_path):
    values = {
        ("bert", 1): {"sst2": (91.6, 91.6, 90.8), "rte": (57.4, 58.9, 57.9)},
        ("bert", 16): {"sst2": (92.0, 91.0, 90.0), "rte": (60.0, 61.0, 59.0)},
    }
    rows = []
    for (backbone, rank), per_task in values.items():
        cells = {}
        for task, triple in per_task.items():
            cells[task] = {}
            for kind, v in zip(("generated", "original", "soup"), triple):
                path = tmp_path / f"{backbone}_{rank}_{task}_{kind}.json"
                write_json(path, {"score": v, "mean": v - 1})
                cells[task][kind] = str(path)
        rows.append({"label": {"backbone": backbone, "rank": rank}, "cells": cells})
    return {"name": "table1", "title": "Table 1", "tasks": ["sst2", "rte"],
            "columns": ["generated", "original", "soup"], "rows": rows}  # fmt: skip


def test_build_numeric(spec):
    df = tables.build(spec)
    assert list(df["backbone"]) == ["bert", "bert"] and list(df["rank"]) == [1, 16]
    assert df.loc[0, "sst2/generated"] == 91.6 and df.loc[1, "rte/soup"] == 59.0
    assert df.loc[0, "avg/generated"] == pytest.approx((91.6 + 57.4) / 2)
    assert df.loc[0, "avg/original"] == pytest.approx((91.6 + 58.9) / 2)


def test_markdown_layout(spec):
    md = tables.to_markdown(tables.build(spec), spec)
    assert "91.6 / 91.6 / 90.8" in md and "57.4 / 58.9 / 57.9" in md
    assert "74.5 / 75.2 / 74.3" in md  # the paper-style average row entry
    assert "generated / original / soup" in md


def test_missing_cell_and_field(spec, tmp_path):
    del spec["rows"][0]["cells"]["rte"]["soup"]
    spec["rows"][1]["cells"]["sst2"]["generated"] = {"path": spec["rows"][1]["cells"]["sst2"]["generated"],
                                                     "field": "mean"}  # fmt: skip
    df = tables.build(spec)
    assert math.isnan(df.loc[0, "rte/soup"]) and math.isnan(df.loc[0, "avg/soup"])
    assert df.loc[1, "sst2/generated"] == pytest.approx(91.0)
    assert " - " in tables.to_markdown(df, spec) or "/ -" in tables.to_markdown(df, spec)


def test_cli_writes_csv_and_md(spec, tmp_path):
    (tmp_path / "spec.json").write_text(json.dumps(spec))
    tables.main(["--spec", f"@{tmp_path / 'spec.json'}", "--csv", str(tmp_path / "t.csv"), "--md", str(tmp_path / "t.md")])
    import pandas as pd

    df = pd.read_csv(tmp_path / "t.csv")
    assert df.loc[1, "sst2/original"] == pytest.approx(91.0)
    assert (tmp_path / "t.md").read_text().startswith("## Table 1")


def test_specs_from_config():
    import yaml

    from condpdiff import table_specs as ts

    config = yaml.safe_load(open("config/smoke.yaml"))
    config["backbones"]["other"] = config["backbones"]["tiny"]
    t1 = ts.table_spec(config, "table1")
    assert [r["label"] for r in t1["rows"]] == [{"backbone": "tiny", "rank": 1}, {"backbone": "other", "rank": 1}]
    cells = t1["rows"][0]["cells"]["syn_topic"]
    assert cells["generated"] == (
        "results/smoke/scores/tiny/r1/n20/layers-all/norm-task/cond-onehot/ddim20/syn_topic/sel64-seed0/generated.json"
    )
    assert cells["original"] == "results/smoke/scores/tiny/r1/n20/syn_topic/original.json"
    assert cells["soup"] == "results/smoke/scores/tiny/r1/n20/syn_topic/soup.json"
    t3 = ts.table_spec(config, "table3")  # ablations on the first backbone, varying n only
    assert [r["label"] for r in t3["rows"]] == [{"n": 1}, {"n": 20}]
    assert t3["rows"][0]["cells"]["syn_topic"]["generated"].startswith("results/smoke/scores/tiny/r1/n1/layers-all/")
    assert t3["rows"][0]["cells"]["syn_topic"]["original"].endswith("/tiny/r1/n1/syn_topic/original.json")
    assert len(ts.table_files(t1)) == 2 * 3 * 3
    recon = ts.table_spec(config, "table_recon")["rows"][0]["cells"]["syn_topic"]["recon"]
    assert recon.endswith("n20/layers-all/norm-task/autoencoder/syn_topic/recon.json")
    flags = ts.scoring_flags(config, ["dev"])
    assert "--splits dev" in flags and "selection" not in flags and "--max-length 32" in flags
    assert "--max-dev-examples" in flags


def test_selection_split_is_in_the_cell_path_not_in_the_flags():
    """Another selection size or seed is another file: the dev scores and other cells stay valid."""
    import yaml

    from condpdiff import table_specs as ts

    config = yaml.safe_load(open("config/smoke.yaml"))
    assert ts.selection_dir(config) == "sel64-seed0"
    flags = ts.scoring_flags(config, ["selection"])
    assert "--splits selection" in flags and "--selection-examples" not in flags and "--max-dev-examples" not in flags
    config["scoring"] = {**config["scoring"], "selection_examples": 1000, "selection_seed": 3}
    t1 = ts.table_spec(config, "table1")["rows"][0]["cells"]["syn_topic"]
    assert t1["generated"].endswith("/ddim20/syn_topic/sel1000-seed3/generated.json")
    config["scoring"]["selection_from"] = "heldout"
    t1 = ts.table_spec(config, "table1")["rows"][0]["cells"]["syn_topic"]
    assert t1["generated"].endswith("/ddim20/syn_topic/sel1000-seed3-heldout/generated.json")
    config["scoring"]["selection_from"] = "train"
    assert t1["original"].endswith("/n20/syn_topic/original.json")
    setting = {"n": 20, "layers": "all", "norm": "task", "condition": "onehot", "sampler": "ddim20"}
    with pytest.raises(ValueError, match="selection split"):
        ts.cell_path("R", "generated", "tiny", 1, "syn_topic", setting)


def test_cross_task_spec_has_the_generated_cells_on_its_diagonal():
    import yaml

    from condpdiff import table_specs as ts

    config = yaml.safe_load(open("config/smoke.yaml"))
    spec = ts.table_spec(config, "table_cross")
    tasks = config["tasks"]
    assert [r["label"]["generated_for"] for r in spec["rows"]] == tasks
    t1 = ts.table_spec(config, "table1")["rows"][0]["cells"]
    for row in spec["rows"]:
        source = row["label"]["generated_for"]
        for task in tasks:
            path = row["cells"][task]["score"]
            if task == source:
                assert path == t1[task]["generated"]
            else:
                assert path.endswith(f"/{task}/sel64-seed0/from-{source}/cross.json")
