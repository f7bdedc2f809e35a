"""The arms layout (Table 1 and Table 2) from fixture cell files: intervals over seeds checked
against scipy, bold among the arms only, `*` on differences that exclude zero, one-seed wording,
the CSV columns, refused NaN and misaligned replicates."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from condpdiff.evaluate import arms_table
from condpdiff.evaluate import make_table as tables
from condpdiff.evaluate.cells import CELL_FORMAT
from condpdiff.pipeline.artifacts import ArtifactError
from condpdiff.util.atomic import write_json

PAIRS = [(0, 0), (0, 2), (1, 0), (1, 2)]  # (fine-tune seed, generator seed)
GROUPS = [f for f, _ in PAIRS]
# per task: generated per pair, original per fine-tune seed, memorisation per pair
GENERATED = {"sst2": [80.0, 82.0, 84.0, 85.0], "cola": [50.0, 51.0, 49.0, 53.0]}
ORIGINAL = {"sst2": [70.0, 72.5], "cola": [52.0, 50.0]}
SOUP = {"sst2": 60.0, "cola": 40.0}
MEMO = {"sst2": [0.5, 0.7, 0.6, 0.8], "cola": [1.0, 1.2, 1.1, 1.3]}
METRIC = {"sst2": "accuracy", "cola": "matthews"}


def put(path, value, metric="accuracy", higher=True) -> str:
    write_json(
        path, {"format": CELL_FORMAT, "score": value, "metric": metric, "higher_is_better": higher}
    )
    return str(path)


def t_interval(values, groups):
    """The expected interval by hand: means per fine-tune seed, then scipy's t interval."""
    means = [np.mean([v for v, g in zip(values, groups) if g == k]) for k in dict.fromkeys(groups)]
    lo, hi = stats.t.interval(0.95, len(means) - 1, loc=np.mean(means), scale=stats.sem(means))
    return float(np.mean(means)), lo, hi


def text_spec(tmp_path) -> dict:
    rows = {"generated": {}, "original": {}, "soup": {}, "generated - original": {}}
    rows["memorisation"] = {}
    for task, metric in METRIC.items():
        gen = [
            put(tmp_path / f"gen_{task}_{f}_{g}.json", v, metric)
            for (f, g), v in zip(PAIRS, GENERATED[task])
        ]
        orig = [
            put(tmp_path / f"orig_{task}_{f}.json", v, metric) for f, v in enumerate(ORIGINAL[task])
        ]
        memo = [
            put(tmp_path / f"memo_{task}_{f}_{g}.json", v, "memorisation", False)
            for (f, g), v in zip(PAIRS, MEMO[task])
        ]
        rows["generated"][task] = {"replicates": gen, "groups": GROUPS}
        rows["original"][task] = {"replicates": orig, "groups": [0, 1]}
        rows["soup"][task] = put(tmp_path / f"soup_{task}.json", SOUP[task], metric)  # one seed
        rows["generated - original"][task] = {
            "diff": [[a, orig[f]] for a, f in zip(gen, GROUPS)],
            "groups": GROUPS,
        }
        rows["memorisation"][task] = {"replicates": memo, "groups": GROUPS}
    role = {"generated - original": "difference", "memorisation": "measure"}
    return {
        "name": "table1",
        "title": "Table 1",
        "kind": "arms",
        "tasks": list(METRIC),
        "columns": ["score"],
        "rows": [
            {
                "label": {"backbone": "bert", "rank": 1, "arm": arm},
                "role": role.get(arm, "arm"),
                "cells": {t: {"score": e} for t, e in cells.items()},
            }
            for arm, cells in rows.items()
        ],
    }


def lines(md: str) -> dict[str, list[str]]:
    """The Markdown table's rows by arm (the 4th label column): the shown cells."""
    out = {}
    for line in md.splitlines():
        if line.startswith("|") and not line.startswith("|:"):
            cells = [c.strip() for c in line.strip("|").split("|")]
            out[cells[2]] = cells[3:]
    return out


def test_intervals_match_scipy_over_finetune_seed_means(tmp_path):
    spec = text_spec(tmp_path)
    df, _, _ = arms_table.build(spec)
    gen = df.iloc[0]
    mean, lo, hi = t_interval(GENERATED["sst2"], GROUPS)
    assert (gen["sst2/mean"], gen["sst2/lo"], gen["sst2/hi"]) == pytest.approx((mean, lo, hi))
    assert gen["sst2/n"] == 2  # two fine-tune seeds: the independent units
    # avg: per replicate the mean over tasks, then the same rule
    per_rep = [(a + b) / 2 for a, b in zip(GENERATED["sst2"], GENERATED["cola"])]
    assert (gen["avg/mean"], gen["avg/lo"], gen["avg/hi"]) == pytest.approx(
        t_interval(per_rep, GROUPS)
    )
    # the paired difference: generated(f, g) - original(f), then the same rule
    diffs = [v - ORIGINAL["sst2"][f] for v, f in zip(GENERATED["sst2"], GROUPS)]
    d = df.iloc[3]
    assert (d["sst2/mean"], d["sst2/lo"], d["sst2/hi"]) == pytest.approx(t_interval(diffs, GROUPS))


def test_one_finetune_seed_takes_the_interval_over_generator_seeds(tmp_path):
    values = [80.0, 82.0, 81.0]
    paths = [put(tmp_path / f"g{i}.json", v) for i, v in enumerate(values)]
    spec = {
        "name": "t",
        "kind": "arms",
        "tasks": ["sst2"],
        "columns": ["score"],
        "rows": [
            {
                "label": {"arm": "generated"},
                "cells": {"sst2": {"score": {"replicates": paths, "groups": [0, 0, 0]}}},
            }
        ],
    }
    row = arms_table.build(spec)[0].iloc[0]
    lo, hi = stats.t.interval(0.95, 2, loc=np.mean(values), scale=stats.sem(values))
    assert (row["sst2/lo"], row["sst2/hi"], row["sst2/n"]) == (
        pytest.approx(lo),
        pytest.approx(hi),
        3,
    )


def test_markdown_bold_star_one_seed_and_the_measure_row(tmp_path):
    spec = text_spec(tmp_path)
    df, md, page = arms_table.render(spec)
    shown = lines(md)
    mean, lo, hi = t_interval(GENERATED["sst2"], GROUPS)
    assert shown["generated"][0] == f"**{mean:.1f} [{lo:.1f}, {hi:.1f}]**"  # best arm on sst2
    assert shown["soup"][0] == "60.0 (one seed)"
    # cola: original (51.0) beats generated (50.75); the difference row is never bold
    assert shown["original"][1].startswith("**51.0 [") and not shown["generated"][1].startswith(
        "**"
    )
    diff_sst2, diff_cola = shown["generated - original"][:2]
    assert diff_sst2.endswith("]*") and not diff_sst2.startswith("**")  # excludes zero
    assert diff_cola.endswith("]") and "*" not in diff_cola  # -0.2 [..]: inside seed noise
    # the memorisation ratio: 2 decimals, never bold though lower is better
    memo = shown["memorisation"][0]
    assert memo.startswith(f"{np.mean([0.6, 0.7]):.2f} [") and "**" not in memo
    header = [ln for ln in md.splitlines() if ln.startswith("| backbone")][0]
    assert "sst2 (acc ↑)" in header and "cola (MCC ↑)" in header and "avg (mean of tasks)" in header
    assert "* marks an interval that excludes zero" in md
    assert "for MCC, acc (↑) a positive one favours a" in md
    assert "memorisation: a measure of the generated arm, not an arm: 2 decimals" in md
    assert "<b>" in page and "excludes zero" in page and "(one seed)" in page


def test_fid_direction_bolds_the_lowest_and_words_the_difference(tmp_path):
    fid = {"generated": [5.0, 5.2], "original": [5.5, 5.6]}
    rows = []
    for arm, values in fid.items():
        paths = [put(tmp_path / f"{arm}{i}.json", v, "fid", False) for i, v in enumerate(values)]
        rows.append(
            {
                "label": {"arm": arm},
                "cells": {"s": {"score": {"replicates": paths, "groups": [0, 0]}}},
            }
        )
    pairs = [
        [a, b]
        for a, b in zip(
            rows[0]["cells"]["s"]["score"]["replicates"],
            rows[1]["cells"]["s"]["score"]["replicates"],
        )
    ]
    rows.append(
        {
            "label": {"arm": "generated - original"},
            "role": "difference",
            "cells": {"s": {"score": {"diff": pairs, "groups": [0, 0]}}},
        }
    )
    spec = {
        "name": "table2",
        "kind": "arms",
        "tasks": ["s"],
        "columns": ["score"],
        "rows": rows,
        "digits": 2,
    }
    _, md, _ = arms_table.render(spec)
    body = {
        ln.split("|")[1].strip(): ln.split("|")[2].strip()
        for ln in md.splitlines()
        if ln.startswith("| ") and not ln.startswith("| arm")
    }
    assert body["generated"].startswith("**5.10 [") and not body["original"].startswith("**")
    assert body["generated - original"].startswith("-0.45 [")
    assert "for FID (↓) a negative one favours a" in md and "s (FID ↓)" in md


def test_csv_columns_and_the_cli(tmp_path):
    spec = text_spec(tmp_path)
    out = tmp_path / "out"
    tables.write(spec, out / "t.csv", out / "t.md", out / "t.html")
    df = pd.read_csv(out / "t.csv")
    stats_cols = [f"{t}/{s}" for t in ("sst2", "cola", "avg") for s in ("mean", "lo", "hi", "n")]
    assert list(df.columns) == [
        "backbone",
        "rank",
        "arm",
        *stats_cols,
        "sst2/metric",
        "cola/metric",
    ]
    assert list(df["sst2/metric"]) == ["accuracy"] * 4 + ["memorisation"]
    soup = df[df["arm"] == "soup"].iloc[0]
    assert soup["sst2/n"] == 1 and math.isnan(soup["sst2/lo"]) and soup["sst2/mean"] == 60.0
    assert "60.0 (one seed)" in (out / "t.md").read_text()


def test_nan_cell_and_null_score_are_refused_by_name(tmp_path):
    spec = text_spec(tmp_path)
    bad = spec["rows"][0]["cells"]["cola"]["score"]["replicates"][2]
    write_json(
        bad,
        {
            "format": CELL_FORMAT,
            "score": float("nan"),
            "metric": "matthews",
            "higher_is_better": True,
        },
    )
    with pytest.raises(ArtifactError, match=r"gen_cola_1_0\.json: table cell whose 'score' is NaN"):
        arms_table.build(spec)
    write_json(
        bad, {"format": CELL_FORMAT, "score": None, "metric": "matthews", "higher_is_better": True}
    )
    with pytest.raises(
        ValueError,
        match=r"row \(backbone bert, rank 1, arm generated\), column"
        r" cola: nested_interval: value\(s\) at position\(s\) \[2\] are not finite",
    ):
        arms_table.build(spec)


def test_misaligned_replicates_and_wrong_entries_are_named_errors(tmp_path):
    spec = text_spec(tmp_path)
    spec["rows"][0]["cells"]["cola"]["score"]["groups"] = [0, 1, 1, 1]
    with pytest.raises(ValueError, match=r"column avg: the replicates of cola .* do not line up"):
        arms_table.build(spec)
    spec = text_spec(tmp_path)
    spec["rows"][0]["cells"]["cola"]["score"]["groups"] = [0, 1]
    with pytest.raises(ValueError, match="one group .* per value; found 4 values and 2 groups"):
        arms_table.build(spec)
    spec = text_spec(tmp_path)
    spec["rows"][3]["role"] = "arm"
    with pytest.raises(ValueError, match=r"a row of role 'arm' holds a diff entry"):
        arms_table.build(spec)
