"""The audit's noise baseline (arm ``-noise``): the training checkpoint nearest to the selected
candidate plus Gaussian noise of exactly the candidate's distance to it.

Among the task's last n harvested checkpoints (what the generator trained on for that task) the
one nearest (L2, raw parameter space, every coordinate) to the candidate the generated cell
selected is copied `num_candidates` times, each copy moved by a random direction (seeded
torch.Generator: same seed, same file) scaled to that distance d, so every copy lies exactly d from
the checkpoint, as the candidate does. The copies carry the selected candidate's head, so only the
LoRA weights differ from it. Written as a candidates file (``info``: ``control: noise``,
``nearest_step``, ``distance``), the copies are then scored and selected exactly as candidates.

    python -m condpdiff.audit.noise --cell generated.json --candidates C --harvest H --task T \\
        --n 20 --num-candidates 20 --seed 0 --out C-noise
"""

from __future__ import annotations

import argparse
import logging

import torch

from condpdiff.audit.selected import load_selected
from condpdiff.params.distances import nearest
from condpdiff.params.paramfile import ParamSet, require_same_layout
from condpdiff.pipeline.artifacts import CANDIDATES, HARVEST_KINDS, artifact_error
from condpdiff.util import cli

log = logging.getLogger("condpdiff.audit.noise")
# Candidate info that describes how the generator drew each row, not true of the noise copies.
DRAW_ONLY_INFO = ("condition_images", "condition_items")


def nearest_checkpoint(candidate: torch.Tensor, checkpoints: torch.Tensor) -> tuple[int, float]:
    """The row of `checkpoints` [N, K] nearest to `candidate` [K] and its exact L2 distance."""
    _, idx = nearest(candidate[None], checkpoints)
    row = int(idx[0])
    return row, float((candidate.double() - checkpoints[row].double()).norm())


def noise_copies(checkpoint: torch.Tensor, distance: float, num: int, seed: int) -> torch.Tensor:
    """[num, K] float64: `checkpoint` plus a random direction of norm exactly `distance` each."""
    if distance < 0 or num < 1:
        raise ValueError(f"noise copies need distance >= 0 and num >= 1, got {distance}, {num}")
    gen = torch.Generator().manual_seed(seed)
    eps = torch.randn(num, checkpoint.numel(), generator=gen, dtype=torch.float64)
    eps = eps / eps.norm(dim=1, keepdim=True)
    return checkpoint.double()[None] + distance * eps


def noise_paramset(
    candidates: ParamSet, row: int, harvest: ParamSet, num: int, seed: int
) -> ParamSet:
    """The noise arm of the candidate in `row` of `candidates` against the checkpoints of `harvest`
    (already the last n)."""
    ckpt, d = nearest_checkpoint(candidates.params[row], harvest.params)
    params = noise_copies(harvest.params[ckpt], d, num, seed).float()
    heads = {
        k: v[row : row + 1].expand(num, *v.shape[1:]).clone() for k, v in candidates.heads.items()
    }
    info = {k: v for k, v in candidates.info.items() if k not in DRAW_ONLY_INFO}
    info.update(
        kind=CANDIDATES,
        control="noise",
        nearest_step=int(harvest.steps[ckpt]),
        distance=d,
        noise_seed=seed,
        selected_row=row,
        n_checkpoints=harvest.n,
    )
    return ParamSet(
        params, candidates.layout, torch.arange(num), torch.full((num,), float("nan")), heads, info
    )


def main(argv=None) -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--cell", required=True, help="the generated cell of the generator's own draw")
    p.add_argument("--candidates", required=True, help="the candidates that cell chose from")
    p.add_argument("--harvest", required=True, help="the task's harvest file")
    p.add_argument("--task", required=True)
    p.add_argument("--n", type=int, required=True, help="the generator's n: the last n checkpoints")
    p.add_argument("--num-candidates", type=int, required=True, help="noise copies to write")
    p.add_argument("--seed", type=int, required=True, help="the noise's seed (the generator's)")
    p.add_argument("--out", required=True, help="the noise candidates file (.safetensors)")
    a = p.parse_args(argv)
    cli.setup_logging()
    sel = load_selected(a.cell, a.candidates, a.task, "audit.noise", {"control": ""})
    harvest = ParamSet.load(a.harvest, {"kind": HARVEST_KINDS, "task": a.task}, "audit.noise")
    require_same_layout(sel.candidates, a.candidates, harvest, a.harvest)
    if not 1 <= a.n <= harvest.n:
        raise artifact_error(
            a.harvest,
            f"harvest too short for n={a.n}",
            f"at least {a.n} checkpoints",
            f"{harvest.n}",
        )
    pset = noise_paramset(sel.candidates, sel.row, harvest.last(a.n), a.num_candidates, a.seed)
    pset.info["source_cell"] = a.cell
    pset.save(a.out)
    log.info(
        "%d noise copies for %s: checkpoint step %d + noise of norm %.6g",
        pset.n,
        a.task,
        pset.info["nearest_step"],
        pset.info["distance"],
    )


if __name__ == "__main__":
    main()
