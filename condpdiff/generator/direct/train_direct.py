"""Train the direct generator: pooled draws of each task's condition items -> that task's
checkpoints.

Every step takes a batch of training rows (the last n checkpoints of every training task), gives
each row a fresh draw of k of its own task's condition items (seeded, own stream) and regresses the
row's parameters in the recipe's arrangement with the per-layer weighted MSE (`arrangement`). Writes
the model folder: model.safetensors, config.json (network, recipe, loss weights, tasks), curve.csv.

    python -m condpdiff.generator.direct.train_direct --stats STATS --harvests H1 H2 .. \\
        --tasks T1 T2 .. --conditions C1 C2 .. --recipe k8-layer-w0.75 --out-dir DIR \\
        [--steps 2000 ...]
"""

from __future__ import annotations

import argparse
import logging
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from condpdiff.conditions.condition import load_condition
from condpdiff.generator import training
from condpdiff.generator.direct import arrangement as arr
from condpdiff.generator.direct.conditioning import ConditionBank, Recipe, condition_items
from condpdiff.generator.direct.network import KIND, DirectConfig, DirectNet
from condpdiff.generator.modelio import CURVE, save_model, write_curve
from condpdiff.params.norm_stats import NormStats, load_training_harvests, training_matrix
from condpdiff.util import cli

log = logging.getLogger("condpdiff.generator.direct.train_direct")


@dataclass
class DirectTrainConfig:
    steps: int = 2000
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 0.0
    warmup_steps: int = 0
    bf16_fraction: float = (
        0.0  # the loss is an MSE on small targets: full precision throughout by default
    )
    seed: int = 0
    generator_seed: int = 0  # the generator replicate N (path part -genseed{N}): runs with seed + N
    device: str = "auto"
    threads: int = 0  # CPU threads (0 = torch default)


@dataclass
class TrainingSet:
    """What the loss needs: targets, (layer) standardised stat targets, row tasks, per-coordinate
    weights."""

    target: torch.Tensor  # [N, K']
    stats: torch.Tensor | None  # [N, 2 T] (layer arrangement), raw (mean, log std)
    task_ids: torch.Tensor  # [N]
    weights: torch.Tensor  # [K']
    segment_weights: torch.Tensor  # [T]


def training_set(
    sets: dict, stats: NormStats, recipe: Recipe
) -> tuple[TrainingSet, list[tuple[int, int]], torch.Tensor]:
    """The rows in the recipe's arrangement, the tensors' segments and their across-task variance
    share."""
    layout = next(iter(sets.values())).layout
    segs = arr.segments(layout, stats.mask)
    normalised, ids = training_matrix(sets, stats)
    raw = torch.cat([arr.raw_generated(sets[t].last(stats.n).params, stats) for t in stats.tasks])
    share = arr.variance_share(raw, ids, segs)
    weights = arr.coordinate_weights(share, segs, recipe.exponent)
    seg_w = share.pow(recipe.exponent)
    seg_w = seg_w / seg_w.mean()
    if recipe.arrangement == "flat":
        return TrainingSet(normalised, None, ids, weights, seg_w), segs, share
    z, layer_stats = arr.layer_targets(raw, segs)
    return TrainingSet(z, layer_stats, ids, weights, seg_w), segs, share


def weighted_loss(
    net: DirectNet, data: TrainingSet, idx: torch.Tensor, cond: torch.Tensor
) -> torch.Tensor:
    """Per-layer weighted MSE of a batch (weights and, per-layer, the standardised (mean, log
    std))."""
    pred, pred_stats = net(cond)
    loss = ((pred - data.target[idx]).pow(2) * data.weights).mean()
    if pred_stats is not None:
        goal = (data.stats[idx] - net.stat_shift) / net.stat_scale
        stat_w = data.segment_weights.repeat_interleave(2)
        loss = loss + ((pred_stats - goal).pow(2) * stat_w).mean()
    return loss


def train(
    data: TrainingSet,
    bank: ConditionBank,
    segs,
    recipe: Recipe,
    net_cfg: DirectConfig,
    cfg: DirectTrainConfig,
    extra: dict | None = None,
) -> tuple[DirectNet, list[dict]]:
    device = training.pick_device(cfg.device)
    training.set_threads(cfg.threads)
    seed = training.run_seed(cfg)
    torch.manual_seed(seed)
    net = DirectNet(net_cfg, bank.dim, recipe.arrangement, segs, extra)
    scale_gen = torch.Generator().manual_seed(
        seed + 2
    )  # condition scale: 1024 draws of the training tasks
    net.set_condition_scale(
        bank.draw(
            torch.randint(len(bank.counts), (1024,), generator=scale_gen), recipe.k, scale_gen
        )
    )
    if data.stats is not None:
        net.set_stat_scale(data.stats)
    net = net.to(device)
    data = TrainingSet(
        *(
            x.to(device) if isinstance(x, torch.Tensor) else x
            for x in (data.target, data.stats, data.task_ids, data.weights, data.segment_weights)
        )
    )
    batches, draws = (
        torch.Generator().manual_seed(seed),
        torch.Generator().manual_seed(seed + 1),
    )

    def loss_fn(step: int) -> torch.Tensor:
        idx = training.batch_indices(
            data.target.shape[0], cfg.batch_size, batches, torch.device("cpu")
        )
        cond = bank.draw(data.task_ids[idx.to(device)].cpu(), recipe.k, draws).to(device)
        return weighted_loss(net, data, idx.to(device), cond)

    curve = training.fit(net, net.parameters(), loss_fn, cfg, device, "direct")
    return net.cpu().eval(), curve


def main(argv=None) -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument(
        "--stats", required=True, help="normalisation stats (condpdiff.params.compute_norm_stats)"
    )
    p.add_argument(
        "--harvests", nargs="+", required=True, help="harvest files, one per task, in --tasks order"
    )
    p.add_argument("--tasks", nargs="+", required=True, help="must be the stats file's task list")
    p.add_argument(
        "--conditions",
        nargs="+",
        required=True,
        help="condition files, one per task, in --tasks order",
    )
    p.add_argument(
        "--recipe", required=True, help="k<k>-<flat|layer>-w<exponent>, e.g. k8-layer-w0.75"
    )
    p.add_argument(
        "--out-dir", required=True, help="model folder: model.safetensors, config.json, curve.csv"
    )
    cli.add_dataclass_args(p, DirectConfig)
    cli.add_dataclass_args(p, DirectTrainConfig)
    a = p.parse_args(argv)
    cli.setup_logging()
    net_cfg, cfg, recipe = (
        cli.dataclass_from_args(DirectConfig, a),
        cli.dataclass_from_args(DirectTrainConfig, a),
        Recipe.parse(a.recipe),
    )
    if len(a.conditions) != len(a.tasks):
        raise ValueError(f"{len(a.conditions)} condition files for {len(a.tasks)} tasks")
    stats = NormStats.load(a.stats)
    sets = load_training_harvests(stats, a.stats, a.harvests, a.tasks, "train_direct")
    conds = [load_condition(f, {"task": t}) for f, t in zip(a.conditions, a.tasks)]
    bank = ConditionBank([condition_items(c) for c in conds])
    data, segs, share = training_set(sets, stats, recipe)
    extra = {
        "tasks": stats.tasks,
        "condition": conds[0].name,
        "recipe": str(recipe),
        "k": recipe.k,
        "exponent": recipe.exponent,
        "condition_items": {t: int(n) for t, n in zip(a.tasks, bank.counts)},
        "variance_share": [round(float(s), 6) for s in share],
        "train": asdict(cfg),
    }
    log.info(
        "%d rows x %d coordinates in %d tensors (%s), %d-d condition items %s, recipe %s",
        data.target.shape[0],
        data.target.shape[1],
        len(segs),
        recipe.arrangement,
        bank.dim,
        extra["condition_items"],
        recipe,
    )
    t0 = time.time()
    net, curve = train(data, bank, segs, recipe, net_cfg, cfg, extra)
    net.extra["train_seconds"] = round(time.time() - t0, 2)
    save_model(a.out_dir, net, KIND)
    write_curve(Path(a.out_dir) / CURVE, curve)
    log.info(
        "final loss %.5f in %.1fs",
        curve[-1]["loss"] if curve else float("nan"),
        net.extra["train_seconds"],
    )


if __name__ == "__main__":
    main()
