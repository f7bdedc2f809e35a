"""The parameter files an analysis compares: per task, the harvested checkpoints the generator was
trained on (the last n rows of the harvest) and the sampled candidates, checked to belong together.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from condpdiff.params.paramfile import ParamSet, require_same_layout
from condpdiff.pipeline.artifacts import CANDIDATES, HARVEST_KINDS, artifact_error


@dataclass
class TaskParams:
    task: str
    harvest: ParamSet  # the last n harvested checkpoints
    candidates: ParamSet
    harvest_path: str
    candidates_path: str


def load_task_params(
    tasks: list[str], harvests: list[str], candidates: list[str], n: int
) -> list[TaskParams]:
    """One `TaskParams` per task (files given in task order); every file must share one LoRA
    layout."""
    if not (len(tasks) == len(harvests) == len(candidates)):
        raise ValueError(
            f"one harvest and one candidates file per task: got {len(tasks)} tasks, "
            f"{len(harvests)} harvests, {len(candidates)} candidates files"
        )
    out, first = [], None
    for task, h_path, c_path in zip(tasks, harvests, candidates):
        harvest = ParamSet.load(
            h_path, {"kind": HARVEST_KINDS, "task": task}, "analysis (harvest of each task)"
        )
        cands = ParamSet.load(c_path, {"kind": CANDIDATES}, "analysis (candidates of each task)")
        if n > harvest.n:
            raise artifact_error(
                h_path,
                f"harvest too short for the generator setting n={n}",
                f"at least {n} checkpoints",
                f"{harvest.n}",
            )
        if cands.info.get("task", task) != task:
            raise artifact_error(
                c_path,
                f"candidates of another task (given as {task!r})",
                f"task {task!r}",
                f"task {cands.info.get('task')!r}",
            )
        require_same_layout(cands, c_path, harvest, h_path)
        if first is not None:
            require_same_layout(harvest, h_path, first.harvest, first.harvest_path)
        item = TaskParams(task, harvest.last(n), cands, str(Path(h_path)), str(Path(c_path)))
        first = first or item
        out.append(item)
    return out
