"""Harvested checkpoints vs generated candidates in one picture: a PCA of the raw LoRA parameters.

The paper shows a t-SNE of original vs generated parameters; a PCA is linear, so its axes mean
the same in every figure of a setting and later points (the sampling trajectory,
``condpdiff.analysis.sampling_trajectory``) project into it. The PCA is fitted on the harvested
checkpoints only (the last n of each task: what the generator was trained on, all tasks
together) and the candidates are projected into it. Outputs:

- a PNG (colour = task, dot = harvested checkpoint, triangle = generated candidate);
- a CSV of every row's coordinates (``task, source, row, step, pc1, pc2, ...``);
- a JSON with the explained variance ratio of each component, the share of the candidates'
  spread around the checkpoints' mean that the components capture, and the counts;
- the PCA itself (``pca.safetensors``: ``mean`` [K], ``components`` [c, K],
  ``explained_variance_ratio`` [c], format ``condpdiff-pca/1``).

    python -m condpdiff.analysis.param_projection --tasks a b \\
        --harvests A.safetensors B.safetensors \\
        --candidates cA.safetensors cB.safetensors --n 20 --components 2 --setting "tiny r1 ..." \\
        --out projection.png --data projection.csv --summary projection.json --pca pca.safetensors
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from condpdiff.analysis.figures import finite_or_none, plt, save_csv, save_figure, task_colours
from condpdiff.analysis.task_params import TaskParams, load_task_params
from condpdiff.pipeline.artifacts import artifact_error, open_safetensors
from condpdiff.util.atomic import save_safetensors, write_json

FORMAT = "condpdiff-pca/1"


@dataclass
class Projection:
    """A fitted PCA: x -> (x - mean) @ components.T."""

    mean: torch.Tensor  # [K] float64
    components: torch.Tensor  # [c, K] float64, orthonormal rows
    explained_variance_ratio: torch.Tensor  # [c] float64
    info: dict

    def project(self, x: torch.Tensor) -> torch.Tensor:
        """[N, K] parameter rows -> [N, c] coordinates."""
        if x.shape[-1] != self.mean.numel():
            raise ValueError(
                f"rows of width {x.shape[-1]} do not fit this PCA of width {self.mean.numel()}"
            )
        return (x.double() - self.mean) @ self.components.T

    def save(self, path: str | Path) -> None:
        tensors = {
            "mean": self.mean,
            "components": self.components,
            "explained_variance_ratio": self.explained_variance_ratio,
        }
        save_safetensors(
            path, tensors, {"format": FORMAT, "info": json.dumps(self.info, sort_keys=True)}
        )

    @classmethod
    def load(cls, path: str | Path) -> Projection:
        with open_safetensors(
            path, "PCA file", FORMAT, ("mean", "components", "explained_variance_ratio")
        ) as (f, meta):
            mean, comps, ratio = (
                f.get_tensor(k) for k in ("mean", "components", "explained_variance_ratio")
            )
        if comps.ndim != 2 or comps.shape[1] != mean.numel() or ratio.numel() != comps.shape[0]:
            raise artifact_error(
                path,
                "inconsistent PCA file",
                "mean [K], components [c, K], ratios [c]",
                f"{list(mean.shape)}, {list(comps.shape)}, {list(ratio.shape)}",
            )
        return cls(
            mean.double(), comps.double(), ratio.double(), json.loads(meta.get("info", "{}"))
        )


def fit(rows: torch.Tensor, components: int, info: dict) -> Projection:
    """PCA of `rows` [N, K] (sklearn, exact SVD so the same rows give the same axes)."""
    from sklearn.decomposition import PCA

    if components < 2:
        raise ValueError(f"the projection needs at least 2 components to draw, got {components}")
    if components > min(rows.shape):
        raise ValueError(
            f"{components} components asked of {rows.shape[0]} rows x {rows.shape[1]} parameters"
        )
    pca = PCA(n_components=components, svd_solver="full").fit(rows.double().numpy())
    comps = torch.from_numpy(pca.components_.copy())
    # sklearn's SVD flips signs by its own rule; fix them so the largest loading of each axis is
    # positive
    signs = torch.sign(comps.gather(1, comps.abs().argmax(1, keepdim=True)))
    return Projection(
        torch.from_numpy(pca.mean_.copy()),
        comps * signs,
        torch.from_numpy(pca.explained_variance_ratio_.copy()),
        info,
    )


def captured(proj: Projection, rows: torch.Tensor) -> float:
    """The share of the squared distance of `rows` to the PCA's mean that lies in its components."""
    centred = rows.double() - proj.mean
    total = float((centred**2).sum())
    return float((proj.project(rows) ** 2).sum()) / total if total > 0 else float("nan")


def coordinates(items: list[TaskParams], proj: Projection) -> pd.DataFrame:
    """Every harvested and generated row's coordinates: task, source, row, step, pc1, pc2, ..."""
    frames = []
    for it in items:
        for source, pset in (("harvested", it.harvest), ("generated", it.candidates)):
            xy = proj.project(pset.params).numpy()
            df = pd.DataFrame(xy, columns=[f"pc{i + 1}" for i in range(xy.shape[1])])
            df.insert(0, "step", pset.steps.numpy())
            df.insert(0, "row", np.arange(pset.n))
            df.insert(0, "source", source)
            df.insert(0, "task", it.task)
            frames.append(df)
    return pd.concat(frames, ignore_index=True)


def axis_label(proj: Projection, i: int) -> str:
    return (
        f"PC{i + 1} ({100 * float(proj.explained_variance_ratio[i]):.1f}% of the checkpoints' "
        "variance)"
    )


def _draw(ax, coords: pd.DataFrame, task: str, colour, small: bool = False) -> None:
    h = coords[(coords.task == task) & (coords.source == "harvested")]
    g = coords[(coords.task == task) & (coords.source == "generated")]
    ax.scatter(
        h.pc1, h.pc2, s=8 if small else 10, color=colour, alpha=0.45 if small else 0.35, lw=0
    )
    ax.scatter(
        g.pc1, g.pc2, s=24 if small else 42, color=colour, marker="^", edgecolor="black", lw=0.5
    )


def plot(coords: pd.DataFrame, proj: Projection, tasks: list[str], setting: str):
    """All tasks in one panel (top), and each task's own region enlarged (below; same axes,
    zoomed)."""
    colours = task_colours(tasks)
    cols = min(4, len(tasks))
    rows = -(-len(tasks) // cols)
    fig = plt.figure(figsize=(3.4 * cols, 5.5 + 2.6 * rows))
    grid = fig.add_gridspec(1 + rows, cols, height_ratios=[5.5] + [2.6] * rows)
    ax = fig.add_subplot(grid[0, :])
    for t in tasks:
        _draw(ax, coords, t, colours[t])
    handles = [plt.Line2D([], [], ls="", marker="s", color=colours[t], label=t) for t in tasks]
    handles += [
        plt.Line2D(
            [], [], ls="", marker="o", color="grey", alpha=0.5, label="harvested checkpoint"
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
    ax.legend(
        handles=handles, fontsize=8, loc="center left", bbox_to_anchor=(1.01, 0.5), framealpha=0.8
    )
    ax.set_xlabel(axis_label(proj, 0))
    ax.set_ylabel(axis_label(proj, 1))
    n = proj.info.get("n")
    ax.set_title(
        f"Harvested checkpoints (last {n} per task) vs generated candidates: PCA fitted on the "
        f"checkpoints\n{setting}",
        fontsize=10,
    )
    for i, t in enumerate(tasks):
        sub = fig.add_subplot(grid[1 + i // cols, i % cols])
        _draw(sub, coords, t, colours[t], small=True)
        sub.set_title(f"{t} (enlarged)", fontsize=9)
        sub.tick_params(labelsize=7)
        sub.locator_params(axis="x", nbins=4)
        sub.set_xlabel("PC1", fontsize=8)
        sub.set_ylabel("PC2", fontsize=8)
    fig.tight_layout()
    return fig


def summary(items: list[TaskParams], proj: Projection) -> dict:
    cands = torch.cat([it.candidates.params for it in items])
    return {
        "fitted_on": "harvested checkpoints (the last n rows of each task's harvest)",
        "explained_variance_ratio": [float(v) for v in proj.explained_variance_ratio],
        "generated_spread_captured": captured(proj, cands),
        "n": proj.info["n"],
        "k": int(proj.mean.numel()),
        "tasks": {
            it.task: {
                "harvested": it.harvest.n,
                "generated": it.candidates.n,
                "harvest_file": it.harvest_path,
                "candidates_file": it.candidates_path,
            }
            for it in items
        },
    }


def main(argv=None) -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--tasks", nargs="+", required=True)
    p.add_argument(
        "--harvests", nargs="+", required=True, help="one harvest file per task, in task order"
    )
    p.add_argument(
        "--candidates", nargs="+", required=True, help="one candidates file per task, in task order"
    )
    p.add_argument(
        "--n",
        type=int,
        required=True,
        help="the generator's n: the last n checkpoints of each harvest",
    )
    p.add_argument(
        "--components",
        type=int,
        required=True,
        help="principal components (config analysis.projection)",
    )
    p.add_argument("--setting", required=True, help="the generator setting, for the title")
    p.add_argument("--out", required=True, help="the figure (.png)")
    p.add_argument("--data", required=True, help="every row's coordinates (.csv)")
    p.add_argument("--summary", required=True, help="explained variance and counts (.json)")
    p.add_argument(
        "--pca", required=True, help="the fitted PCA (.safetensors), for the trajectory figure"
    )
    a = p.parse_args(argv)
    items = load_task_params(a.tasks, a.harvests, a.candidates, a.n)
    harvested = torch.cat([it.harvest.params for it in items])
    proj = fit(harvested, a.components, {"n": a.n, "tasks": a.tasks, "setting": a.setting})
    coords = coordinates(items, proj)
    save_csv(coords, a.data)
    write_json(a.summary, finite_or_none(summary(items, proj)))
    proj.save(a.pca)
    save_figure(plot(coords, proj, a.tasks, a.setting), a.out)


if __name__ == "__main__":
    main()
