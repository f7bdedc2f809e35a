"""The audit's memorisation measure (arXiv 2506.07998) of a selected candidate, as a table cell.

score = d(candidate, its nearest training checkpoint) / the median over the training checkpoints of
their own nearest-neighbour distance (to another training checkpoint). The training checkpoints
are the generator's: the last n harvested checkpoints of each of its tasks; distances are L2 in
raw parameter space (params.distances). A ratio well below 1 says the candidate sits closer to a
training checkpoint than the checkpoints sit to each other: it copies one. Lower is "more
memorised", so the cell says ``higher_is_better: false`` (no table bolds it).

    python -m condpdiff.audit.memorisation --cell generated.json --candidates C --task T \\
        --tasks A B C --harvests HA HB HC --n 20 --out memorisation.json
"""

from __future__ import annotations

import argparse
import math

import torch

from condpdiff.audit.noise import nearest_checkpoint
from condpdiff.audit.selected import load_selected
from condpdiff.params.distances import spacing
from condpdiff.params.norm_stats import load_harvests
from condpdiff.params.paramfile import require_same_layout
from condpdiff.pipeline.artifacts import CELL_FORMAT, artifact_error
from condpdiff.util import cli
from condpdiff.util.atomic import write_json


def memorisation(
    candidate: torch.Tensor, checkpoints: torch.Tensor, where: str = "training checkpoints"
) -> tuple[float, int, float, float]:
    """(ratio, nearest checkpoint row, distance, median nearest-neighbour distance) of `candidate`
    [K] against `checkpoints` [N, K]; fewer than two distinct checkpoints is a ValueError."""
    row, d = nearest_checkpoint(candidate, checkpoints)
    nn = spacing(checkpoints)
    if not math.isfinite(nn) or nn <= 0:
        raise ValueError(
            f"{where}: the memorisation ratio needs checkpoints apart from each other: expected "
            f"a positive median nearest-neighbour distance among {checkpoints.shape[0]}, found {nn}"
        )
    return d / nn, row, d, nn


def main(argv=None) -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--cell", required=True, help="the generated cell (any draw, any arm)")
    p.add_argument("--candidates", required=True, help="the candidates that cell chose from")
    p.add_argument("--task", required=True)
    p.add_argument("--tasks", nargs="+", required=True, help="the generator's training tasks")
    p.add_argument("--harvests", nargs="+", required=True, help="their harvest files, in order")
    p.add_argument("--n", type=int, required=True, help="the generator's n: the last n checkpoints")
    p.add_argument("--out", required=True, help="the memorisation cell (.json)")
    a = p.parse_args(argv)
    cli.setup_logging()
    sel = load_selected(a.cell, a.candidates, a.task, "audit.memorisation")
    sets = load_harvests(a.harvests, a.tasks, "audit.memorisation (the generator's tasks)")
    require_same_layout(sel.candidates, a.candidates, sets[a.tasks[0]], a.harvests[0])
    labels, rows = [], []
    for t, path in zip(a.tasks, a.harvests):
        if a.n > sets[t].n:
            raise artifact_error(
                path,
                f"harvest too short for n={a.n}",
                f"at least {a.n} checkpoints",
                f"{sets[t].n}",
            )
        last = sets[t].last(a.n)
        rows.append(last.params)
        labels += [(t, int(s)) for s in last.steps]
    where = f"training checkpoints of {a.tasks} (last {a.n} of {a.harvests})"
    ratio, row, d, nn = memorisation(sel.params, torch.cat(rows), where)
    write_json(
        a.out,
        {
            "format": CELL_FORMAT,
            "kind": "memorisation",
            "task": a.task,
            "metric": "memorisation",
            "higher_is_better": False,
            "score": ratio,
            "distance": d,
            "nn_median": nn,
            "nearest_task": labels[row][0],
            "nearest_step": labels[row][1],
            "n_checkpoints": len(labels),
            "training_tasks": list(a.tasks),
            "n": a.n,
            "selected_row": sel.row,
            "params_file": a.candidates,
            "generated_file": a.cell,
            "control": sel.candidates.info.get("control", ""),
        },
    )


if __name__ == "__main__":
    main()
