"""Candidates of the direct generator for one task: one forward pass per condition draw.

Candidate i is generated from draw i of k of the task's condition items (a seeded torch.Generator:
same seed, same file); the drawn item indices are recorded in the output's info as
``condition_items``. The generated coordinates are denormalised with the task's row of the stats
file (``flat``; a task the generator never saw gets the pooled row) or rebuilt from the predicted
per-tensor mean and std (``layer``); coordinates outside the generated layers, and the task head,
come from the task's last harvested checkpoint, as for every generator kind
(``generator.candidates``).
"""

from __future__ import annotations

import argparse
import logging
import time
from dataclasses import asdict, dataclass

import torch

from condpdiff.conditions.condition import load_condition
from condpdiff.conditions.controls import add_control_args, parsed_expectation
from condpdiff.generator import training
from condpdiff.generator.candidates import candidates_paramset
from condpdiff.generator.direct import arrangement as arr
from condpdiff.generator.direct.conditioning import ConditionBank, Recipe, condition_items
from condpdiff.generator.direct.network import DirectNet, load_direct
from condpdiff.params.norm_stats import NormStats
from condpdiff.params.paramfile import ParamSet
from condpdiff.util import cli

log = logging.getLogger("condpdiff.generator.direct.sample_direct")


@dataclass
class DirectSamplingConfig:
    num_candidates: int = 20
    seed: int = 0
    generator_seed: int = 0  # the generator replicate N (path part -genseed{N}): seed + N
    device: str = "auto"
    threads: int = 0  # CPU threads (0 = torch default)


@torch.no_grad()
def generate(
    net: DirectNet,
    bank: ConditionBank,
    k: int,
    stats: NormStats,
    task: str,
    cfg: DirectSamplingConfig,
) -> tuple[torch.Tensor, list[list[int]]]:
    """[num_candidates, K'] in the stats' normalised space for `task`, and each candidate's drawn
    items."""
    device = training.pick_device(cfg.device)
    training.set_threads(cfg.threads)
    net = net.to(device).eval()
    gen = torch.Generator().manual_seed(training.run_seed(cfg))
    rows = torch.zeros(cfg.num_candidates, dtype=torch.long)
    idx, valid = bank.draw_indices(rows, k, gen)
    cond = bank.pool(rows, idx, valid).to(device)
    pred, pred_stats = net(cond)
    pred = pred.float().cpu()
    if pred_stats is not None:
        raw = arr.layer_weights(pred, net.unscale_stats(pred_stats).float().cpu(), net.segments)
        full = torch.zeros(raw.shape[0], stats.mask.numel())
        full[:, stats.mask] = raw
        pred = stats.normalise(full, task)  # candidates_paramset denormalises with the same row
    items = [
        sorted(int(j) for j, ok in zip(r, v) if ok) for r, v in zip(idx.tolist(), valid.tolist())
    ]
    return pred, items


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument(
        "--model",
        required=True,
        help="direct generator folder (condpdiff.generator.direct.train_direct)",
    )
    p.add_argument(
        "--stats", required=True, help="normalisation stats the generator was trained with"
    )
    p.add_argument(
        "--harvest", required=True, help="the task's harvest file (fill values, head, layout)"
    )
    p.add_argument("--condition", required=True, help="the task's condition file")
    add_control_args(p)
    p.add_argument("--task", required=True)
    p.add_argument(
        "--recipe", required=True, help="the recipe the model was trained with, e.g. k8-layer-w0.75"
    )
    p.add_argument("--out", required=True, help="candidates parameter file (.safetensors)")
    cli.add_dataclass_args(p, DirectSamplingConfig)
    a = p.parse_args(argv)
    cli.setup_logging()
    cfg, recipe = cli.dataclass_from_args(DirectSamplingConfig, a), Recipe.parse(a.recipe)
    stats = NormStats.load(a.stats)
    stats.require_task(a.task, a.stats)
    harvest = ParamSet.load(a.harvest, stats.harvest_expect(a.task), "sample_direct")
    expect, control_info = parsed_expectation(p, a)
    cond = load_condition(a.condition, expect)
    stats.check_params(harvest.params, a.harvest)
    net = load_direct(a.model)
    trained = net.extra.get("recipe")
    if trained != str(recipe):
        raise ValueError(
            f"{a.model}: trained with recipe {trained!r}, asked to sample with {str(recipe)!r}"
        )
    bank = ConditionBank([condition_items(cond)])
    if bank.dim != net.cond_dim:
        raise ValueError(
            f"{a.condition}: condition items of width {bank.dim} do not fit the generator in "
            f"{a.model} (trained on width {net.cond_dim}): expected the condition it was trained "
            f"with ({net.extra.get('condition')!r}), found {cond.name!r}"
        )
    if int(bank.counts[0]) == 1:
        log.warning("%s holds one condition item: every candidate is the same", a.condition)
    t0 = time.time()
    z, items = generate(net, bank, recipe.k, stats, a.task, cfg)
    seconds = time.time() - t0
    info = {
        "recipe": str(recipe),
        "sampling": asdict(cfg),
        "generator_seed": cfg.generator_seed,
        "condition": cond.name,
        "generator": "direct",
        "model": str(a.model),
        "condition_items": items,
        **control_info,  # an audit arm: control (and condition_task); none for its own draw
    }  # no timing: the same inputs give the same bytes
    pset = candidates_paramset(z, stats, a.task, harvest, info)
    pset.save(a.out)
    log.info("%d candidates for %s with %s in %.3fs", pset.n, a.task, recipe, seconds)


if __name__ == "__main__":
    main()
