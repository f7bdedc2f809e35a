"""The selected candidate of a generated cell (text: scores/.../SELECTED/generated.json; images:
the same cell under the evaluation folder), read with its candidates file and checked to belong
to it."""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch

from condpdiff.params.paramfile import ParamSet
from condpdiff.pipeline.artifacts import CANDIDATES, CELL_FORMAT, artifact_error, load_json


def same_candidates(named: str, given: str) -> bool:
    """Whether a cell's ``params_file`` names the file `given`: the same path, or the same place in
    the results layout (from its ``generator/`` folder on) under a results folder since moved."""
    a, b = (os.path.normpath(os.path.abspath(p)).replace(os.sep, "/") for p in (named, given))
    if a == b:
        return True
    tails = [p[p.rfind("/generator/") :] if "/generator/" in p else None for p in (a, b)]
    return tails[0] is not None and tails[0] == tails[1]


@dataclass
class Selected:
    cell: dict
    candidates: ParamSet
    row: int

    @property
    def params(self) -> torch.Tensor:
        """The selected candidate's parameter vector [K] (raw space)."""
        return self.candidates.params[self.row]


def load_selected(
    cell_path: str, candidates_path: str, task: str, reader: str, expect: dict | None = None
) -> Selected:
    """The candidate a generated cell selected, from `candidates_path` (which must be the file the
    cell's scores were made from, of `task`; `expect`: more fields its info must record)."""
    cell = load_json(
        cell_path,
        "generated cell",
        CELL_FORMAT,
        keys=("selected_row", "params_file"),
        expect={"kind": "generated", "task": task},
    )
    named = cell["params_file"]
    if not named or not same_candidates(named, candidates_path):
        raise artifact_error(
            cell_path,
            "generated cell of another candidates file",
            f"params_file {candidates_path!r} (given as --candidates)",
            repr(named),
        )
    cands = ParamSet.load(
        candidates_path, {"kind": (CANDIDATES,), "task": task, **(expect or {})}, reader
    )
    row = int(cell["selected_row"])
    if not 0 <= row < cands.n:
        raise artifact_error(
            cell_path,
            f"selected row outside the candidates file {candidates_path}",
            f"a row in 0..{cands.n - 1}",
            f"{row}",
        )
    return Selected(cell, cands, row)
