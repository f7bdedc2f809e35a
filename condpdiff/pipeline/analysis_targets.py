"""The files of the ``analyses`` target (the paper's analyses), from a validated config.

One set of figures per generator setting's default cell: config ``generator`` for every text
backbone x rank, ``image.generator`` for every image base x rank, at the first seed of each
config ``seeds`` list (``paths.first_seeds``). Under R = results_dir, with
GEN and DRAW the generator parts of ``pipeline.paths``:

    R/analysis/GEN/pdiff/cond-{condition}/training_curves.{png,csv}   autoencoder + diffusion loss
    R/analysis/GEN/DRAW/projection.{png,csv,json}                     PCA: checkpoints vs candidates
    R/analysis/GEN/DRAW/pca.safetensors                               that PCA (mean, components)
    R/analysis/GEN/DRAW/trajectory.{png,csv,json}                     reverse-process paths in that
                                                                      PCA
    R/analysis/GEN/DRAW/nearest_checkpoint.{png,csv,json}             text: L2 to the nearest
                                                                      checkpoint vs dev score
    R/analysis/GEN/DRAW/{evalpart}/nearest_checkpoint.{png,csv,json}  image: the same vs FID
                                                                      (evalpart:
                                                                      image_paths.eval_part)

Settings of ``analysis`` in the config (PCA components, trajectory paths and points, curve
smoothing) reach the steps as rule params, as the sampling settings do.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable

from condpdiff.pipeline.generators import draw_wildcards
from condpdiff.pipeline.paths import (
    DRAW_PART,
    GEN_PART,
    TAG_GEN,
    fill,
    first_seeds,
    seed_of,
    seed_wildcards,
)

# log / benchmark name of a per-setting job
TAG_SETTING = TAG_GEN + "_{kind}_cond-{condition}_{draw}"
TAG_CURVES = TAG_GEN + "_cond-{condition}"
DATA = {
    "curves": ("csv",),
    "projection": ("csv", "json"),
    "trajectory": ("csv", "json"),
    "nearest": ("csv", "json"),
}


class AnalysisPaths:
    """The analysis figures and their data under one results folder (see the module docstring)."""

    def __init__(self, results: str):
        self.root = f"{str(results).rstrip('/')}/analysis"

    def setting_dir(self, **w) -> str:
        return fill(f"{self.root}/{GEN_PART}/{DRAW_PART}", **w)

    def curves(self, ext: str, **w) -> str:
        return fill(f"{self.root}/{GEN_PART}/pdiff/cond-{{condition}}/training_curves.{ext}", **w)

    def projection(self, ext: str, **w) -> str:
        return f"{self.setting_dir(**w)}/projection.{ext}"

    def pca(self, **w) -> str:
        return f"{self.setting_dir(**w)}/pca.safetensors"

    def trajectory(self, ext: str, **w) -> str:
        return f"{self.setting_dir(**w)}/trajectory.{ext}"

    def nearest(self, ext: str, **w) -> str:
        """Text: every candidate's distance to its nearest checkpoint against its dev score."""
        return f"{self.setting_dir(**w)}/nearest_checkpoint.{ext}"

    def nearest_fid(self, ext: str, **w) -> str:
        """Image: the same against the candidate's FID, in the evaluation setting `evalpart`."""
        return fill(f"{self.setting_dir(**w)}/{{evalpart}}/nearest_checkpoint.{ext}", **w)


def setting_label(w: dict) -> str:
    """A figure title's setting: ``tinypix r4 n64 layers-all norm-task pdiff cond-resnet18-image
    ddim50`` (with ``ftseed 1`` / ``genseed 2`` after the rank / norm for a seed other than 0)."""
    ftseed, genseed = seed_of(w.get("ftseed", "")), seed_of(w.get("genseed", ""))
    parts = [
        w["backbone"],
        f"r{w['rank']}",
        *([f"ftseed {ftseed}"] if ftseed else []),
        f"n{w['n']}",
        f"layers-{w['layers']}",
        f"norm-{w['norm']}{w.get('unseen', '')}",
        *([f"genseed {genseed}"] if genseed else []),
    ]
    if "kind" in w:
        parts.append(w["kind"])
    parts.append(f"cond-{w['condition']}")
    if "draw" in w:
        parts.append(w["draw"])
    return " ".join(str(p) for p in parts)


def setting_arg(wildcards) -> str:
    """A rule's params: the job's generator setting, shell-quoted, for its figure's title."""
    return shlex.quote(setting_label(dict(wildcards.items())))


def member_files(path: Callable[..., str], members: Callable, **fixed) -> Callable:
    """An input function: ``path(**wildcards, **fixed, task=t)`` for each task of
    ``members(wildcards)`` (the tasks, or styles, a generator is trained on), in that order."""

    def files(wildcards) -> list[str]:
        w = dict(wildcards.items())
        return [path(**{**w, **fixed, "task": t}) for t in members(wildcards)]

    return files


def default_settings(config: dict) -> list[tuple[str, dict]]:
    """(branch, wildcards) of every default generator cell: text per backbone x rank, image per base
    x rank."""
    out, seeds = [], seed_wildcards(first_seeds(config))
    if config.get("tasks"):
        gen = config["generator"]
        out += [
            ("text", {**_wildcards(gen, b, r), **seeds})
            for b in config["backbones"]
            for r in config["lora"]["ranks"]
        ]
    if config.get("image"):
        img = config["image"]
        out += [
            ("image", {**_wildcards(img["generator"], b, r), **seeds})
            for b in img["bases"]
            for r in img["lora"]["ranks"]
        ]
    return out


def _wildcards(gen: dict, backbone: str, rank) -> dict:
    return {
        "backbone": backbone,
        "rank": rank,
        "n": gen["n"],
        "layers": gen["layers"],
        "norm": gen["norm"],
        "unseen": "",
        **draw_wildcards(gen),
    }


def analysis_files(config: dict) -> list[str]:
    """Every PNG and data file of the ``analyses`` target for the config's branches."""
    A = AnalysisPaths(config["results_dir"])
    files = []
    for branch, w in default_settings(config):
        for kind, method in (
            ("curves", A.curves),
            ("projection", A.projection),
            ("trajectory", A.trajectory),
        ):
            files += [method(ext, **w) for ext in ("png", *DATA[kind])]
        files.append(A.pca(**w))
        if branch == "text":
            files += [A.nearest(ext, **w) for ext in ("png", *DATA["nearest"])]
        else:
            from condpdiff.pipeline.image_paths import eval_part

            e = eval_part(config)
            files += [A.nearest_fid(ext, evalpart=e, **w) for ext in ("png", *DATA["nearest"])]
    return files
