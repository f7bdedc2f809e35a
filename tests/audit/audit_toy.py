"""Toy parameter files in the results layout: two tasks' harvests and one task's candidates with
its generated cell, so the audit's steps and provenance checks run on known numbers (the fixture
`toy` is in conftest.py)."""

from __future__ import annotations

import torch

from condpdiff.params.paramfile import ParamSet
from condpdiff.pipeline.artifacts import CELL_FORMAT
from condpdiff.pipeline.paths import Paths
from condpdiff.util.atomic import write_json

LAYOUT = [("m.layer.0.q.lora_A.weight", (1, 4)), ("m.layer.0.q.lora_B.weight", (4, 1))]
K = 8
W = {
    "backbone": "tiny",
    "rank": 1,
    "ftseed": "",
    "genseed": "",
    "n": 3,
    "layers": "all",
    "norm": "task",
    "unseen": "",
    "kind": "pdiff",
    "condition": "onehot",
    "sel_n": 64,
    "sel_seed": 0,
    "sel_pool": "",
    "sel_race": "",
}


def paramset(params, task: str, kind: str, steps=None, **info) -> ParamSet:
    n = params.shape[0]
    return ParamSet(
        params.float(),
        LAYOUT,
        torch.arange(n) if steps is None else torch.tensor(steps),
        torch.zeros(n),
        {"classifier.weight": torch.arange(n * 2.0).reshape(n, 1, 2)},
        {"backbone": "tiny", "rank": 1, "kind": kind, "task": task, **info},
    )


def make_toy(tmp_path) -> dict:
    """Harvests of tasks a and b (5 checkpoints each, the generator's n = 3: the last 3, steps
    12..14), candidates of task a (row 1 selected) and its generated cell."""
    P = Paths(str(tmp_path / "results"))
    e = torch.eye(K)
    harvest_a = torch.stack([10 * e[0], 9 * e[0], e[0], 2 * e[0], 4 * e[0]])  # last 3: e0, 2e0, 4e0
    harvest_b = torch.stack([5 * e[1], 5 * e[1], e[1] * 7, e[1] * 7.5, e[1] * 9])
    paths = {}
    for task, x in (("a", harvest_a), ("b", harvest_b)):
        paths[task] = P.harvest(backbone="tiny", rank=1, ftseed="", task=task)
        paramset(x, task, "checkpoints", steps=list(range(10, 15))).save(paths[task])
    cands = torch.stack([3 * e[2], 2 * e[0] + 0.5 * e[3], -e[4]])
    cand_path = P.candidates(**W, draw="ddim20", task="a")
    paramset(cands, "a", "candidates", sampler="ddim20").save(cand_path)
    cell = P.generated(**W, draw="ddim20", task="a")
    write_json(
        cell,
        {
            "format": CELL_FORMAT,
            "kind": "generated",
            "task": "a",
            "metric": "accuracy",
            "higher_is_better": True,
            "score": 50.0,
            "selected_row": 1,
            "params_file": cand_path,
        },
    )
    return {"P": P, "harvests": paths, "candidates": cand_path, "cell": cell, "e": e}
