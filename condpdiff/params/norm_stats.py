"""Normalisation statistics for the generator's training vectors (docs/method.md section 2).

Modes: ``task`` z-scores each coordinate with the mean/std of that task's N checkpoints
(the paper's default), ``batch`` uses one mean/std over all tasks' checkpoints, ``none``
leaves the parameters as they are. A coordinate with zero variance gets std 1, so it
normalises to 0 and denormalises back to its mean: never inf or NaN.

The stats file also carries the mask of generated coordinates (Table 4c: which layers are
generated); the generator sees only the masked coordinates.

A generator trained without a task (leave-one-out) still has to denormalise that task's
candidates, but may not look at its checkpoints: its row (``unseen``) holds the statistics of
all training tasks' checkpoints pooled (what ``batch`` mode uses for every task), never its own.

The stats record the fine-tuning seed of the harvests they were computed from (``finetune_seed``;
all of one seed), and every later step of the generator reads a harvest expecting that seed
(`NormStats.harvest_expect`): a harvest of another fine-tuning replicate is refused by name.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import torch

from condpdiff.params.paramfile import ParamSet, layer_mask, require_same_layout
from condpdiff.pipeline.artifacts import (
    HARVEST_KINDS,
    artifact_error,
    check_finite,
    open_safetensors,
)
from condpdiff.pipeline.names import NORMS as MODES
from condpdiff.util.atomic import save_safetensors

FORMAT = "condpdiff-normstats/1"

STD_FLOOR = 1e-8


@dataclass
class NormStats:
    mode: str
    tasks: list[str]
    mean: torch.Tensor  # [T, K'] (K' = mask.sum())
    std: torch.Tensor  # [T, K']
    mask: torch.Tensor  # [K] bool
    n: int
    layers: str
    unseen: list[str] = field(
        default_factory=list
    )  # tasks denormalised with the pooled stats, after `tasks`
    finetune_seed: int | None = None  # the harvests' fine-tuning replicate (None: not recorded)

    def harvest_expect(self, task: str) -> dict:
        """What a harvest read with these stats must record (``ParamSet.load``'s `expect`): a
        harvest of `task`, of the fine-tuning seed the stats were computed from."""
        return {"kind": HARVEST_KINDS, "task": task, "finetune_seed": self.finetune_seed}

    def _row(self, task: str) -> int:
        rows = self.tasks + self.unseen
        if task not in rows:
            raise KeyError(
                f"task {task!r} not in these stats (tasks {self.tasks}, unseen {self.unseen})"
            )
        return rows.index(task)

    def normalise(self, params: torch.Tensor, task: str) -> torch.Tensor:
        """[N, K] full parameter vectors -> [N, K'] normalised generated coordinates."""
        i = self._row(task)
        return (params[:, self.mask] - self.mean[i]) / self.std[i]

    def denormalise(self, z: torch.Tensor, task: str, fill: torch.Tensor) -> torch.Tensor:
        """[N, K'] normalised -> [N, K] parameters; coordinates not generated are taken from `fill`
        [K]."""
        i = self._row(task)
        out = fill.to(z.dtype).expand(z.shape[0], -1).clone()
        out[:, self.mask] = z * self.std[i] + self.mean[i]
        return out

    def save(self, path: str | Path) -> None:
        meta = {
            "format": FORMAT,
            "mode": self.mode,
            "tasks": json.dumps(self.tasks),
            "n": str(self.n),
            "layers": self.layers,
            "unseen": json.dumps(self.unseen),
        }
        if self.finetune_seed is not None:
            meta["finetune_seed"] = str(self.finetune_seed)
        save_safetensors(
            path, {"mean": self.mean, "std": self.std, "mask": self.mask.to(torch.uint8)}, meta
        )

    @classmethod
    def load(cls, path: str | Path, expect: dict | None = None) -> NormStats:
        """Read a stats file; a missing, truncated, inconsistent or non-finite one is an error
        naming it, and so is one whose ``mode``, ``n`` or ``layers`` differ from `expect` or from
        its path."""
        with open_safetensors(
            path, "normalisation stats file", FORMAT, tensors=("mean", "std", "mask"), expect=expect
        ) as (f, meta):
            try:
                stats = cls(
                    mode=meta["mode"],
                    tasks=json.loads(meta["tasks"]),
                    mean=f.get_tensor("mean"),
                    std=f.get_tensor("std"),
                    mask=f.get_tensor("mask").bool(),
                    n=int(meta["n"]),
                    layers=meta["layers"],
                    unseen=json.loads(meta.get("unseen", "[]")),
                    finetune_seed=int(meta["finetune_seed"]) if "finetune_seed" in meta else None,
                )
            except (KeyError, ValueError, TypeError) as e:
                raise artifact_error(
                    path, "normalisation stats file with unreadable metadata", found=repr(e)
                ) from None
        shape = [len(stats.tasks) + len(stats.unseen), int(stats.mask.sum())]
        for name, t in (("mean", stats.mean), ("std", stats.std)):
            if list(t.shape) != shape:
                raise artifact_error(
                    path,
                    f"'{name}' does not fit the tasks and mask",
                    f"shape {shape} ({shape[0]} tasks x {shape[1]} generated coordinates)",
                    f"{list(t.shape)}",
                )
            check_finite(t, path, name)
        return stats

    def require_task(self, task: str, path) -> None:
        """`task` must have a row in these stats (a task trained on, or an unseen one)."""
        if task not in self.tasks + self.unseen:
            raise artifact_error(
                path,
                f"normalisation stats without task {task!r}",
                f"a row for {task!r}",
                f"tasks {self.tasks}, unseen {self.unseen}",
            )

    def check_params(self, params: torch.Tensor, where) -> None:
        """`params` [N, K] must have the K these stats were computed for."""
        if params.shape[-1] != self.mask.numel():
            raise artifact_error(
                where,
                "parameter vectors do not fit the normalisation stats",
                f"K = {self.mask.numel()} (the stats' mask)",
                f"K = {params.shape[-1]}",
            )


def _safe_std(x: torch.Tensor) -> torch.Tensor:
    std = x.std(dim=0, unbiased=False) if x.shape[0] > 1 else torch.zeros(x.shape[1])
    return torch.where(std > STD_FLOOR, std, torch.ones_like(std))


def compute(
    sets: dict[str, ParamSet], mode: str, n: int, layers: str = "all", unseen=()
) -> NormStats:
    """Stats over the last `n` checkpoints of each task's ParamSet, plus a pooled row per `unseen`
    task."""
    if mode not in MODES:
        raise ValueError(f"normalisation mode must be one of {MODES}, got {mode!r}")
    tasks, unseen = list(sets), list(unseen)
    if set(tasks) & set(unseen):
        raise ValueError(f"tasks {sorted(set(tasks) & set(unseen))} are both trained on and unseen")
    layouts = {tuple(s.layout) for s in sets.values()}
    if len(layouts) != 1:
        raise ValueError(
            f"harvests of tasks {tasks} have different layouts: one backbone x rank per stats file"
        )
    mask = layer_mask(sets[tasks[0]].layout, layers)
    if not mask.any():
        raise ValueError(f"layers={layers!r} selects no coordinate of this backbone")
    rows = {t: sets[t].last(n).params[:, mask].double() for t in tasks}
    k = int(mask.sum())
    if mode == "task":
        mean = torch.stack([rows[t].mean(0) for t in tasks])
        std = torch.stack([_safe_std(rows[t]) for t in tasks])
    elif mode == "batch":
        allrows = torch.cat(list(rows.values()))
        mean = allrows.mean(0).expand(len(tasks), k)
        std = _safe_std(allrows).expand(len(tasks), k)
    else:
        mean, std = torch.zeros(len(tasks), k), torch.ones(len(tasks), k)
    if unseen:
        pooled = torch.cat(list(rows.values()))
        if mode == "none":
            pool_mean, pool_std = torch.zeros(k), torch.ones(k)
        else:
            pool_mean, pool_std = pooled.mean(0), _safe_std(pooled)
        mean = torch.cat([mean.to(pool_mean.dtype), pool_mean.expand(len(unseen), k)])
        std = torch.cat([std.to(pool_std.dtype), pool_std.expand(len(unseen), k)])
    seeds = {s.info.get("finetune_seed") for s in sets.values()}
    return NormStats(
        mode,
        tasks,
        mean.float().contiguous(),
        std.float().contiguous(),
        mask,
        n,
        layers,
        unseen,
        finetune_seed=next(iter(seeds)) if len(seeds) == 1 else None,
    )


def training_matrix(
    sets: dict[str, ParamSet], stats: NormStats
) -> tuple[torch.Tensor, torch.Tensor]:
    """The generator's training set: normalised [sum N, K'] rows and the task index of each row."""
    xs, ids = [], []
    for t in stats.tasks:
        x = stats.normalise(sets[t].last(stats.n).params, t)
        xs.append(x)
        ids.append(torch.full((x.shape[0],), stats.tasks.index(t), dtype=torch.long))
    return torch.cat(xs), torch.cat(ids)


def load_training_harvests(
    stats: NormStats, stats_path, paths: list[str], tasks: list[str], reader: str = ""
) -> dict[str, ParamSet]:
    """The harvests a generator trains on: the stats' tasks, in order, with the stats' K."""
    if list(tasks) != stats.tasks:
        raise artifact_error(
            stats_path,
            "normalisation stats of other tasks",
            f"tasks {list(tasks)}",
            f"{stats.tasks}",
        )
    sets = load_harvests(paths, tasks, reader, stats.finetune_seed)
    for t, p in zip(tasks, paths):
        stats.check_params(sets[t].params, p)
    return sets


def load_harvests(
    paths: list[str], tasks: list[str], reader: str = "", finetune_seed: int | None = None
) -> dict[str, ParamSet]:
    """Each task's harvest file (in `tasks` order, each one of that task's checkpoints); all must
    share one LoRA layout and one fine-tuning seed (`finetune_seed`, or the first file's)."""
    if len(paths) != len(tasks):
        raise ValueError(f"{len(paths)} harvest files for {len(tasks)} tasks")
    sets = {}
    for t, p in zip(tasks, paths):
        want = {"kind": HARVEST_KINDS, "task": t, "finetune_seed": finetune_seed}
        sets[t] = ParamSet.load(p, want, reader)
        if finetune_seed is None:
            finetune_seed = sets[t].info.get("finetune_seed")
    for t, p in zip(tasks[1:], paths[1:]):
        require_same_layout(sets[t], p, sets[tasks[0]], paths[0])
    return sets
