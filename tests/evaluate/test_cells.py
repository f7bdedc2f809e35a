"""Selection without leakage: the generated score is the dev score of the candidate best on the
selection split."""

from __future__ import annotations

import math
import re

import pytest

from condpdiff.evaluate import cells
from condpdiff.evaluate.cells import (
    best_index,
    cross_cell,
    generated_cell,
    original_cell,
    recon_cell,
    soup_cell,
)
from condpdiff.pipeline.artifacts import SCORES_FORMAT, ProvenanceError
from condpdiff.util import ranking
from condpdiff.util.ranking import NaNScoreError


class DevSpy(list):
    """A list of dev rows that records every index read; iterating it (reading all of dev) fails."""

    def __init__(self, rows):
        super().__init__(rows)
        self.read = []

    def __getitem__(self, i):
        self.read.append(i)
        return super().__getitem__(i)

    def __iter__(self):
        raise AssertionError("selection iterated over dev scores")

    def __len__(self):
        raise AssertionError("selection looked at the dev scores")


def cache(sel, dev, **extra):
    """A score cache as condpdiff.text.score writes it (accuracy: higher is better)."""
    return {
        "format": SCORES_FORMAT,
        "task": "t",
        "metric": "accuracy",
        "higher_is_better": True,
        "steps": list(range(len(dev))),
        "splits": {"selection": {"n_examples": 100}, "dev": {"n_examples": 50}},
        "scores": {
            "selection": [{"score": s, "accuracy": s} for s in sel],
            "dev": [{"score": d, "accuracy": d} for d in dev],
        },
        "info": {},
        **extra,
    }


def test_best_index():
    assert best_index([1.0, 3.0, 2.0]) == 1
    assert best_index([2.0, 2.0, 1.0]) == 0  # first on ties
    assert best_index([1.0, 3.0, 0.5], higher_is_better=False) == 2
    assert best_index([2.0, 1.0, 1.0], higher_is_better=False) == 1  # first on ties
    # a NaN is never skipped and an all-NaN list never gives row 0
    for values in ([math.nan, 1.0], [math.nan], [math.nan, 5.0, math.inf]):
        with pytest.raises(NaNScoreError):
            best_index(values)
    with pytest.raises(ValueError):
        best_index([])


def test_selection_sees_selection_scores_only(monkeypatch):
    """The chooser gets the selection scores and nothing else; dev is read for the chosen row only.

    The dev scores (from the candidates' cache, and those the selection cache happens to carry
    as well) would pick other rows; the generated cell must not follow either.
    """
    seen = []

    def spy(values, higher_is_better=True, *args, **kwargs):
        seen.append(list(values))
        return best_index(values, higher_is_better, *args, **kwargs)

    monkeypatch.setattr(ranking, "best_index", spy)  # what the selection of a row calls
    dev = cache(sel=[], dev=[99.0, 60.0, 95.0, 98.0], params_file="c", n_rows=4, head="file")
    del dev["scores"]["selection"]
    dev["scores"]["dev"] = DevSpy(dev["scores"]["dev"])
    sel = cache(
        sel=[70.0, 75.0, 90.0, 80.0],
        dev=[10.0, 99.0, 10.0, 10.0],
        params_file="c",
        n_rows=4,
        head="file",
    )
    cell = generated_cell(dev, sel)
    assert seen == [[70.0, 75.0, 90.0, 80.0]]  # selection scores, in row order; no dev value
    assert dev["scores"]["dev"].read == [2]  # one dev row read: the chosen one
    assert (cell["selected_row"], cell["selection_score"], cell["score"]) == (2, 90.0, 95.0)
    assert cell["metrics"] == {"score": 95.0, "accuracy": 95.0} and cell["n_candidates"] == 4


def test_generated_is_dev_of_selection_best_not_dev_best():
    c = cache(
        sel=[70.0, 90.0, 80.0], dev=[99.0, 60.0, 95.0]
    )  # dev best is row 0: must NOT be reported
    cell = generated_cell(c)
    assert cell["selected_row"] == 1 and cell["score"] == 60.0 and cell["selection_score"] == 90.0
    assert cell["n_candidates"] == 3


def test_selection_never_reads_dev():
    """Fails if the choice depends on dev: only the chosen row's dev entry may be read,
    once, after choosing."""
    c = cache(sel=[70.0, 90.0, 80.0], dev=[99.0, 60.0, 95.0])
    spy = DevSpy(c["scores"]["dev"])
    c["scores"]["dev"] = spy
    cell = generated_cell(c)
    assert spy.read == [cell["selected_row"]] == [1]


def test_selection_invariant_to_dev_permutation():
    sel = [10.0, 50.0, 30.0, 40.0]
    rows = [
        generated_cell(cache(sel, dev))["selected_row"]
        for dev in ([1, 2, 3, 4], [4, 3, 2, 1], [9, 0, 9, 9])
    ]
    assert rows == [1, 1, 1]


def test_generated_needs_selection_split():
    c = cache([1.0], [2.0])
    del c["scores"]["selection"]
    with pytest.raises(ValueError, match="selection"):
        generated_cell(c)


def test_original_is_best_dev_among_last_n():
    c = cache(sel=[0] * 5, dev=[99.0, 70.0, 80.0, 75.0, 72.0])
    cell = original_cell(c, n=3)  # rows 2..4
    assert cell["score"] == 80.0 and cell["best_step"] == 2 and cell["n"] == 3
    assert cell["last_checkpoint"]["score"] == 72.0 and cell["last_checkpoint"]["step"] == 4
    assert cell["mean"] == pytest.approx((80 + 75 + 72) / 3)
    assert original_cell(c)["score"] == 99.0
    with pytest.raises(ValueError):
        original_cell(c, n=6)


def test_original_of_a_strided_cache_slices_by_step():
    # a harvest of 10 steps (100..109) scored every 3rd checkpoint from the last:
    # steps 100, 103, 106, 109
    c = cache(sel=[0] * 4, dev=[90.0, 60.0, 70.0, 65.0], rows={"in_file": 10, "every": 3})
    c["steps"] = [100, 103, 106, 109]
    cell = original_cell(c, n=5)  # the last 5 steps are 105..109: rows for 106 and 109 only
    assert (
        cell["score"] == 70.0
        and cell["best_step"] == 106
        and cell["n_scored"] == 2
        and cell["n"] == 5
    )
    assert original_cell(c, n=1)["score"] == 65.0  # N=1 is the last checkpoint, always scored
    assert original_cell(c, n=10)["score"] == 90.0
    with pytest.raises(ValueError, match="harvest holds 10"):
        original_cell(c, n=11)


def test_original_counts_harvested_rows_not_steps():
    # an image harvest: 64 checkpoints taken every 5 steps (485..800),
    # scored every 8th row from the last
    c = cache(
        sel=[0] * 8, dev=[5.0, 6.0, 4.0, 7.0, 8.0, 9.0, 3.5, 3.6], rows={"in_file": 64, "every": 8}
    )
    c["steps"] = [520 + 40 * i for i in range(8)]
    cell = original_cell(c, n=64)  # every scored row is among the last 64 checkpoints
    assert cell["n_scored"] == 8 and cell["score"] == 9.0 and cell["best_step"] == 720
    assert original_cell(c, n=16)["n_scored"] == 2  # rows 55 and 63 (steps 760, 800)
    c["scores"]["dev"] = c["scores"]["dev"][:7]
    with pytest.raises(ValueError, match="expected 8 scored rows"):
        original_cell(c, n=64)


def test_cross_cell_reads_the_one_scored_row():
    c = cache(sel=[], dev=[61.5], rows={"row": 7})
    del c["scores"]["selection"]
    cell = cross_cell(c)
    assert cell["score"] == 61.5 and cell["kind"] == "cross" and cell["selected_row"] == 7
    with pytest.raises(ValueError, match="one row"):
        cross_cell(cache(sel=[], dev=[1.0, 2.0]))


def test_recon_and_soup_cells():
    r = recon_cell(cache(sel=[0, 0, 0], dev=[50.0, 70.0, 60.0]))
    assert (r["score"], r["mean"], r["last"], r["best_row"]) == (70.0, 60.0, 60.0, 1)
    s = soup_cell(cache(sel=[0], dev=[81.5], info={"soup_of": 20}))
    assert s["score"] == 81.5 and s["n"] == 20
    with pytest.raises(ValueError):
        soup_cell(cache(sel=[0, 0], dev=[1.0, 2.0]))


def test_cell_cli(tmp_path):
    import json

    from condpdiff.util.atomic import write_json

    write_json(tmp_path / "s.json", cache(sel=[1.0, 2.0], dev=[5.0, 3.0]))
    cells.main(
        ["generated", "--scores", str(tmp_path / "s.json"), "--out", str(tmp_path / "g.json")]
    )
    cells.main(
        [
            "original",
            "--scores",
            str(tmp_path / "s.json"),
            "--n",
            "1",
            "--out",
            str(tmp_path / "o.json"),
        ]
    )
    assert json.loads((tmp_path / "g.json").read_text())["score"] == 3.0
    assert json.loads((tmp_path / "o.json").read_text())["score"] == 3.0


def test_generated_from_a_separate_selection_cache():
    """Selection scores from their own cache (another selection size),
    dev from the candidates' cache."""
    dev = cache(
        sel=[],
        dev=[99.0, 60.0, 95.0],
        params_file="c.safetensors",
        n_rows=3,
        head="last_checkpoint",
    )
    del dev["scores"]["selection"]
    sel = cache(
        sel=[70.0, 90.0, 80.0],
        dev=[],
        params_file="c.safetensors",
        n_rows=3,
        head="last_checkpoint",
    )
    sel["splits"] = {"selection": {"n_examples": 1000, "seed": 3}}
    del sel["scores"]["dev"]
    cell = generated_cell(dev, sel)
    assert cell["selected_row"] == 1 and cell["score"] == 60.0
    assert (cell["selection_examples"], cell["selection_seed"]) == (1000, 3)
    with pytest.raises(ValueError, match="params_file"):
        generated_cell(dev, {**sel, "params_file": "other.safetensors"})
    with pytest.raises(ValueError, match="selection"):
        generated_cell(dev, dev)


def test_cell_cli_with_selection_cache(tmp_path):
    import json

    from condpdiff.util.atomic import write_json

    write_json(tmp_path / "dev.json", cache(sel=[], dev=[5.0, 3.0], params_file="p", n_rows=2))
    write_json(tmp_path / "sel.json", cache(sel=[1.0, 2.0], dev=[], params_file="p", n_rows=2))
    args = [
        "generated",
        "--scores",
        str(tmp_path / "dev.json"),
        "--selection",
        str(tmp_path / "sel.json"),
    ]
    cells.main([*args, "--out", str(tmp_path / "g.json")])
    cell = json.loads((tmp_path / "g.json").read_text())
    assert cell["score"] == 3.0 and cell["selection_file"] == str(tmp_path / "sel.json")
    with pytest.raises(SystemExit):
        cells.main(
            [
                "original",
                "--scores",
                str(tmp_path / "dev.json"),
                "--selection",
                "x",
                "--out",
                str(tmp_path / "o.json"),
            ]
        )
    assert not (tmp_path / "o.json").exists()


def test_generated_cell_from_the_selected_row_only():
    """The default: dev scored for the selected candidate only
    (text.score --best-of), a one-row cache."""
    sel = cache(
        [50.0, 90.0, 60.0], [0.0, 0.0, 0.0], params_file="c.safetensors", head="file", n_rows=3
    )
    full = cache([], [10.0, 70.0, 95.0], params_file="c.safetensors", head="file", n_rows=3)
    one = cache(
        [],
        [70.0],
        params_file="c.safetensors",
        head="file",
        n_rows=1,
        rows={"row": 1, "in_file": 3},
    )
    from_full, from_one = generated_cell(full, sel), generated_cell(one, sel)
    assert from_one["score"] == from_full["score"] == 70.0
    assert from_one["selected_row"] == from_full["selected_row"] == 1
    stale = cache(
        [],
        [95.0],
        params_file="c.safetensors",
        head="file",
        n_rows=1,
        rows={"row": 2, "in_file": 3},
    )
    with pytest.raises(
        ValueError,
        match=r"dev score cache of another selection; expected row 1 "
        r"\(the selection split's pick\); found row 2",
    ):
        generated_cell(stale, sel)


NAN = math.nan


def test_a_nan_selection_score_is_refused_not_skipped():
    """Before: a NaN best row was skipped and the next one reported; all NaN reported row 0."""
    with pytest.raises(
        NaNScoreError, match=r"sel\.json: selection split: 1 of 3 scores are NaN \(candidate 1\)"
    ):
        generated_cell(cache(sel=[70.0, NAN, 80.0], dev=[1.0, 2.0, 3.0]), where="sel.json")
    with pytest.raises(
        NaNScoreError, match=r"3 of 3 scores are NaN \(candidate 0, candidate 1, candidate 2\)"
    ):
        generated_cell(cache(sel=[NAN] * 3, dev=[1.0, 2.0, 3.0]), where="sel.json")


def test_a_nan_dev_score_never_becomes_a_cell(tmp_path):
    from condpdiff.util.atomic import write_json

    with pytest.raises(
        NaNScoreError,
        match=r"dev\.json: dev score of the selected candidate: 1 of 1 scores are NaN "
        r"\(candidate 1\)",
    ):
        generated_cell(cache(sel=[1.0, 2.0], dev=[5.0, NAN]), where="dev.json")
    with pytest.raises(
        NaNScoreError,
        match=r"h\.json: dev scores of the last checkpoints: 1 of 3 scores are NaN "
        r"\(step 1\)",
    ):
        original_cell(cache(sel=[], dev=[50.0, NAN, 60.0]), where="h.json")
    for make in (soup_cell, cross_cell):
        with pytest.raises(NaNScoreError, match="1 of 1 scores are NaN"):
            make(cache(sel=[], dev=[NAN], info={"soup_of": 3}))
    with pytest.raises(NaNScoreError, match="dev scores of the reconstructions: 1 of 2"):
        recon_cell(cache(sel=[], dev=[NAN, 1.0]))
    # through the CLI: no cell file is written, so no table shows an empty '-' for it
    write_json(tmp_path / "s.json", cache(sel=[1.0, 2.0], dev=[5.0, NAN]))
    with pytest.raises(NaNScoreError, match=str(tmp_path / "s.json")):
        cells.main(
            ["generated", "--scores", str(tmp_path / "s.json"), "--out", str(tmp_path / "g.json")]
        )
    assert not (tmp_path / "g.json").exists()


@pytest.mark.parametrize(
    "kind, made, scored",
    [
        ("generated", lambda c: generated_cell(c, where="c.json"), "checkpoints"),
        ("original", lambda c: original_cell(c, where="c.json"), "candidates"),
        ("recon", lambda c: recon_cell(c, where="c.json"), "checkpoints"),
        ("soup", lambda c: soup_cell(c, where="c.json"), "candidates"),
    ],
)
def test_a_cell_refuses_a_cache_of_another_kind_of_file(kind, made, scored):
    c = cache(sel=[1.0], dev=[2.0], info={"kind": scored, "task": "t"})
    with pytest.raises(
        ProvenanceError,
        match=rf"c\.json: score cache of a parameter file \(its info\) for a {kind} "
        rf"cell made for another kind; expected kind .*; found kind '{scored}'",
    ):
        made(c)


def test_a_cell_refuses_a_cache_of_another_tasks_file_but_cross_expects_one():
    c = cache(sel=[1.0, 2.0], dev=[2.0, 3.0], info={"kind": "candidates", "task": "other"})
    with pytest.raises(
        ProvenanceError,
        match=r"made for another task; expected task 't' \(what a generated cell "
        r"expects\); found task 'other'",
    ):
        generated_cell(c)
    one = cache(sel=[], dev=[2.0], info={"kind": "candidates", "task": "other"}, rows={"row": 1})
    assert cross_cell(one)["score"] == 2.0  # the candidate selected for another task, scored on t
    # an FID cache records the scored file's info as params_info (the features' info: 'generated')
    fid = {
        **one,
        "features_file": "f.safetensors",
        "info": {"kind": "generated", "params_info": {"kind": "harvest"}},
    }
    with pytest.raises(ProvenanceError, match="found kind 'harvest'"):
        cross_cell(fid)


def test_separate_selection_cache_of_another_task(tmp_path):
    from condpdiff.util.atomic import write_json

    write_json(tmp_path / "dev.json", cache(sel=[], dev=[5.0, 3.0], params_file="p", n_rows=2))
    write_json(
        tmp_path / "sel.json",
        {**cache(sel=[1.0, 2.0], dev=[], params_file="p", n_rows=2), "task": "u"},
    )
    with pytest.raises(
        ProvenanceError,
        match=re.escape(
            f"{tmp_path / 'sel.json'}: score cache made for another task; expected task 't'"
        ),
    ):
        cells.main(
            [
                "generated",
                "--scores",
                str(tmp_path / "dev.json"),
                "--selection",
                str(tmp_path / "sel.json"),
                "--out",
                str(tmp_path / "g.json"),
            ]
        )
    assert not (tmp_path / "g.json").exists()
