"""The sampling trajectory: where the reverse process is in parameter space at several of its steps.

For each task this reruns the candidates' own reverse process (the sampler, seed, guidance and
eta recorded in the candidates file's ``info``, all ``num_candidates`` rows in one batch as
``sample_candidates`` draws them, so the same noise) and keeps, at ``--points`` steps evenly
spaced along the sampler's schedule (the last one the final step), the model's prediction of
the clean latent (x0). Each is decoded by the autoencoder and denormalised with the task's stats,
as a candidate is, and projected into the PCA of ``condpdiff.analysis.param_projection``. The
first ``--paths`` candidates are drawn: each a path from its first x0 prediction to the candidate
itself. The final step reproduces the candidates file (checked: the JSON records the largest
difference, and a difference beyond float noise is an error).

The reverse process is the sampler's own loop (``generator.pdiff.noise.reverse_process``, which
``noise.sample`` runs to its end) with the x0 predictions kept (``sample_with_states``), so the
trajectory's end is the sample, bit for bit.

    python -m condpdiff.analysis.sampling_trajectory --diffusion GEN/pdiff/cond-c/diffusion \\
        --autoencoder GEN/pdiff/autoencoder --stats GEN/stats.safetensors --tasks a b \\
        --harvests A B --candidates cA cB --conditions condA condB --pca pca.safetensors \\
        --paths 5 --points 6 --setting "..." --out trajectory.png --data trajectory.csv \\
        --summary trajectory.json
"""

from __future__ import annotations

import argparse
import logging
from dataclasses import asdict

import numpy as np
import pandas as pd
import torch
from tqdm import tqdm

from condpdiff.analysis.figures import (
    finite_or_none,
    panel_grid,
    plt,
    save_csv,
    save_figure,
    task_colours,
)
from condpdiff.analysis.param_projection import Projection, axis_label
from condpdiff.analysis.task_params import TaskParams, load_task_params
from condpdiff.conditions.condition import load_condition
from condpdiff.generator import training
from condpdiff.generator.modelio import config_from_dict
from condpdiff.generator.pdiff.autoencoder import ParamAutoencoder, load_autoencoder
from condpdiff.generator.pdiff.noise import (
    LatentDiffusion,
    load_diffusion,
    parse_sampler,
    reverse_process,
)
from condpdiff.generator.pdiff.sample_candidates import SamplingConfig, candidate_conditions
from condpdiff.params.norm_stats import NormStats
from condpdiff.pipeline.artifacts import artifact_error
from condpdiff.util import cli
from condpdiff.util.atomic import write_json

log = logging.getLogger("condpdiff.analysis.sampling_trajectory")
TOLERANCE = 1e-4  # largest |trajectory end - candidate| relative to the candidates' largest |value|


def schedule_points(steps: int, points: int) -> list[int]:
    """`points` indices into a schedule of `steps` steps, evenly spaced, the first and the last
    included."""
    if points < 2:
        raise ValueError(f"a trajectory needs at least 2 points, got {points}")
    if points > steps:
        raise ValueError(f"{points} points asked of a sampler with {steps} steps")
    return sorted({int(round(v)) for v in np.linspace(0, steps - 1, points)})


@torch.no_grad()
def sample_with_states(
    model: LatentDiffusion,
    cond: torch.Tensor,
    sampler: str,
    generator: torch.Generator,
    guidance_scale: float = 1.0,
    eta: float = 0.0,
    keep=(),
    progress: bool = False,
):
    """``noise.sample`` (its own loop, ``noise.reverse_process``) keeping the x0 prediction
    (AE-scale latents) after each step in `keep`.

    Returns (final latents [B, C, L], {step index: x0 prediction [B, C, L]}, the schedule's
    timesteps).
    """
    states, timesteps = {}, []
    for step in reverse_process(model, cond, sampler, generator, guidance_scale, eta, progress):
        timesteps.append(step.timestep)
        if step.index in keep:
            states[step.index] = model.from_unit(step.x0)
        u = step.u
    return model.from_unit(u), states, timesteps


def sampling_config(item: TaskParams) -> tuple[str, SamplingConfig]:
    """The sampler and SamplingConfig the candidates file records (what made its rows)."""
    info = item.candidates.info
    if "sampler" not in info or "sampling" not in info:
        raise artifact_error(
            item.candidates_path,
            "candidates file without its sampling settings",
            "info with 'sampler' and 'sampling' (written by sample_candidates)",
            f"info keys {sorted(info)}",
        )
    return info["sampler"], config_from_dict(SamplingConfig, info["sampling"])


@torch.no_grad()
def trace_task(
    item: TaskParams,
    full_harvest_last: torch.Tensor,
    diffusion: LatentDiffusion,
    ae: ParamAutoencoder,
    stats: NormStats,
    cond: torch.Tensor,
    paths: int,
    points: int,
    progress: bool = False,
) -> dict:
    """The decoded x0 predictions [points, paths, K] of one task's first `paths` candidates, and the
    check."""
    sampler, cfg = sampling_config(item)
    if paths > cfg.num_candidates:
        raise ValueError(
            f"{paths} trajectory paths asked, but {item.candidates_path} holds "
            f"{cfg.num_candidates} candidates"
        )
    device = training.pick_device(cfg.device)
    training.set_threads(cfg.threads)
    diffusion, ae = diffusion.to(device).eval(), ae.to(device).eval()
    keep = schedule_points(parse_sampler(sampler)[1], points)
    gen = torch.Generator(device=device).manual_seed(cfg.seed)
    conds = candidate_conditions(cond, cfg.num_candidates, diffusion.net.cfg.cond_mode).to(device)
    z, states, timesteps = sample_with_states(
        diffusion, conds, sampler, gen, cfg.guidance_scale, cfg.eta, keep, progress
    )
    final = stats.denormalise(ae.decode(z).float().cpu(), item.task, full_harvest_last)
    diff = float((final - item.candidates.params).abs().max())
    scale = float(item.candidates.params.abs().max())
    if diff > TOLERANCE * max(scale, 1e-12):
        raise artifact_error(
            item.candidates_path,
            "candidates the rerun reverse process does not reproduce",
            f"the trajectory's end within {TOLERANCE:g} x max|value| of the candidates",
            f"a largest difference of {diff:.3g} (max |value| {scale:.3g}): the candidates were "
            "sampled by other code or on another device; resample them",
        )
    # decoded as the whole batch, as the candidates were (a convolution's float rounding depends on
    # the batch)
    decoded = torch.stack(
        [
            stats.denormalise(ae.decode(states[i]).float().cpu(), item.task, full_harvest_last)[
                :paths
            ]
            for i in keep
        ]
    )
    return {
        "sampler": sampler,
        "sampling": cfg,
        "keep": keep,
        "timesteps": [timesteps[i] for i in keep],
        "params": decoded,
        "max_abs_diff": diff,
    }


def path_table(task: str, traced: dict, proj: Projection, candidates: torch.Tensor) -> pd.DataFrame:
    """task, path, point, step_index, timestep, pc1.., l2_to_final (raw parameter units) of one
    task."""
    rows = []
    params = traced["params"]  # [points, paths, K]
    for j in range(params.shape[1]):
        xy = proj.project(params[:, j]).numpy()
        dist = (params[:, j].double() - candidates[j].double()).norm(dim=1).numpy()
        for k, (i, t) in enumerate(zip(traced["keep"], traced["timesteps"])):
            rows.append(
                {
                    "task": task,
                    "path": j,
                    "point": k,
                    "step_index": i,
                    "timestep": t,
                    **{f"pc{c + 1}": float(xy[k, c]) for c in range(xy.shape[1])},
                    "l2_to_final": float(dist[k]),
                }
            )
    return pd.DataFrame(rows)


def plot(
    table: pd.DataFrame,
    harvest_xy: dict,
    cand_xy: dict,
    proj: Projection,
    tasks: list[str],
    setting: str,
    n_steps: int,
):
    colours = task_colours(tasks)
    fig, axes = panel_grid(len(tasks))
    points = sorted(table.point.unique())
    shade = plt.get_cmap("viridis")(np.linspace(0, 0.9, len(points)))
    for ax, t in zip(axes, tasks):
        ax.scatter(*harvest_xy[t].T, s=8, color=colours[t], alpha=0.3, lw=0)
        ax.scatter(*cand_xy[t].T, s=30, color=colours[t], marker="^", edgecolor="black", lw=0.5)
        for _, path in table[table.task == t].groupby("path"):
            path = path.sort_values("point")
            ax.plot(path.pc1, path.pc2, color="black", lw=0.7, alpha=0.6)
            ax.scatter(
                path.pc1,
                path.pc2,
                s=22,
                c=shade[path.point.to_numpy()],
                zorder=3,
                edgecolor="white",
                lw=0.3,
            )
        ax.set_title(t, fontsize=10)
        ax.set_xlabel(axis_label(proj, 0), fontsize=8)
        ax.set_ylabel(axis_label(proj, 1), fontsize=8)
        ax.tick_params(labelsize=7)
    first = table[table.task == tasks[0]].drop_duplicates("point").sort_values("point")
    handles = [
        plt.Line2D(
            [], [], ls="", marker="o", color=shade[k], label=f"x0 at step {i + 1}/{n_steps} (t={t})"
        )
        for k, i, t in zip(first.point, first.step_index, first.timestep)
    ]
    handles += [
        plt.Line2D(
            [], [], ls="", marker="o", color="grey", alpha=0.4, label="harvested checkpoint"
        ),
        plt.Line2D(
            [],
            [],
            ls="",
            marker="^",
            color="grey",
            markeredgecolor="black",
            label="generated candidate",
        ),
    ]
    fig.legend(
        handles=handles,
        loc="upper center",
        ncol=min(4, len(handles)),
        fontsize=8,
        bbox_to_anchor=(0.5, 0.0),
    )
    fig.suptitle(
        "Sampling trajectories: decoded x0 prediction along the reverse process, in the "
        f"checkpoints' PCA\n{setting}",
        fontsize=11,
    )
    fig.tight_layout()
    return fig


def main(argv=None) -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--diffusion", required=True, help="diffusion model folder")
    p.add_argument("--autoencoder", required=True, help="autoencoder model folder")
    p.add_argument(
        "--stats", required=True, help="normalisation stats the generator was trained with"
    )
    p.add_argument("--tasks", nargs="+", required=True)
    p.add_argument(
        "--harvests", nargs="+", required=True, help="one harvest file per task, in task order"
    )
    p.add_argument(
        "--candidates", nargs="+", required=True, help="one candidates file per task, in task order"
    )
    p.add_argument(
        "--conditions", nargs="+", required=True, help="one condition file per task, in task order"
    )
    p.add_argument("--pca", required=True, help="the PCA of condpdiff.analysis.param_projection")
    p.add_argument(
        "--paths",
        type=int,
        required=True,
        help="candidates traced per task (config analysis.trajectory)",
    )
    p.add_argument(
        "--points",
        type=int,
        required=True,
        help="points along the schedule (config analysis.trajectory)",
    )
    p.add_argument("--setting", required=True, help="the generator setting, for the title")
    p.add_argument("--out", required=True, help="the figure (.png)")
    p.add_argument("--data", required=True, help="every path point (.csv)")
    p.add_argument("--summary", required=True, help="timesteps and the reproduction check (.json)")
    a = p.parse_args(argv)
    cli.setup_logging()
    if len(a.conditions) != len(a.tasks):
        p.error(
            f"one condition file per task: got {len(a.tasks)} tasks and {len(a.conditions)} "
            "conditions"
        )
    proj = Projection.load(a.pca)
    n = int(proj.info.get("n", 0))
    if n < 1:
        raise artifact_error(
            a.pca, "PCA file without the generator's n", "info with 'n'", str(proj.info)
        )
    items = load_task_params(a.tasks, a.harvests, a.candidates, n)
    stats, diffusion, ae = (
        NormStats.load(a.stats),
        load_diffusion(a.diffusion),
        load_autoencoder(a.autoencoder),
    )
    tables, harvest_xy, cand_xy, per_task, traced = [], {}, {}, {}, None
    for item, cond_path in tqdm(list(zip(items, a.conditions)), desc="tasks"):
        cond = load_condition(cond_path, {"task": item.task})
        if (cond.projection == "conv") != (diffusion.net.cfg.cond_mode == "conv"):
            raise artifact_error(
                cond_path,
                f"condition that does not fit the diffusion model in {a.diffusion}",
                f"a condition for cond_mode {diffusion.net.cfg.cond_mode!r}",
                f"projection {cond.projection!r}",
            )
        # the fill of ungenerated coordinates: the harvest's last row, as sample_candidates takes it
        last = item.harvest.params[-1]
        traced = trace_task(item, last, diffusion, ae, stats, cond.embedding, a.paths, a.points)
        tables.append(path_table(item.task, traced, proj, item.candidates.params))
        harvest_xy[item.task] = proj.project(item.harvest.params)[:, :2].numpy()
        cand_xy[item.task] = proj.project(item.candidates.params)[:, :2].numpy()
        per_task[item.task] = {
            "max_abs_diff_to_candidates": traced["max_abs_diff"],
            "condition_images": item.candidates.info.get("condition_images", [])[: a.paths],
        }
        log.info(
            "%s: %d paths, end matches the candidates to %.3g",
            item.task,
            a.paths,
            traced["max_abs_diff"],
        )
    table = pd.concat(tables, ignore_index=True)
    save_csv(table, a.data)
    median = table.groupby("point")["l2_to_final"].median()
    write_json(
        a.summary,
        finite_or_none(
            {
                "sampler": traced["sampler"],
                "sampling": asdict(traced["sampling"]),
                "paths": a.paths,
                "step_indices": traced["keep"],
                "timesteps": traced["timesteps"],
                "decoded": (
                    "the model's x0 prediction after each kept step, through the autoencoder"
                ),
                "median_l2_to_final": [float(median[k]) for k in sorted(median.index)],
                "tasks": per_task,
            }
        ),
    )
    fig = plot(
        table, harvest_xy, cand_xy, proj, a.tasks, a.setting, parse_sampler(traced["sampler"])[1]
    )
    save_figure(fig, a.out)


if __name__ == "__main__":
    main()
