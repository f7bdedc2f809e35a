"""The style-continuous generalisation set (the paper's appendix C; target ``generalisation``).

From two styles' LoRAs theta_1 and theta_2 (each style's LAST harvested checkpoint, so the set
does not depend on Table 2's scoring), M interpolated LoRAs

    theta(l) = (1 - l) theta_1 + l theta_2,   l_i = i / (M - 1),  i = 0 .. M - 1

(``interpolate_styles.interpolate``: the interpolation target's formula). The grid is split into
the paper's bands: l is a TRAINING point when it lies in [0.1, 0.2) U [0.3, 0.4) U ... U
[0.9, 1.0), i.e. when floor(10 l) is odd, and a TEST point otherwise ([0, 0.1) U [0.2, 0.3) U
... U [0.8, 0.9) and l = 1). Band membership is computed in integers (``10 i // (M - 1)``), so
no floating-point rounding moves a grid point across a band edge.

This module holds the pieces every generalisation step shares: the grid and its split, the
nearest training l of a test l, the parameter-space measures (relative L2 distance to the true
interpolated LoRA, and where a vector sits along the line theta_1 -> theta_2), the set file and
the shared image pipeline. Entry points: ``build_generalisation_set``,
``generate_generalisation_images``, ``train_generalisation_generator``,
``sample_generalisation_candidates``, ``score_generalisation``, ``plot_generalisation``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import torch

from condpdiff.params.paramfile import ParamSet
from condpdiff.pipeline.artifacts import artifact_error

SET_FORMAT = "condpdiff-generalisation-set/1"
CONDITIONS_FORMAT = "condpdiff-generalisation-conditions/1"
SCORES_FORMAT = "condpdiff-generalisation-scores/1"
MIN_POINTS = 11  # every band of width 0.1 needs a grid point: a step of at most 0.1
SELECTIONS = ("first", "condition_fid")


def lambdas(points: int) -> list[float]:
    """`points` values of l evenly spaced from 0 to 1, both ends included."""
    if points < MIN_POINTS:
        raise ValueError(
            f"the generalisation set needs at least {MIN_POINTS} points (a grid step of at most "
            f"0.1, so every band [a/10, (a+1)/10) holds a point), got {points}"
        )
    return [i / (points - 1) for i in range(points)]


def band(i: int, points: int) -> int:
    """floor(10 l_i) for l_i = i / (points - 1), in integers (l = 1 is band 10)."""
    return (10 * i) // (points - 1)


def is_train(i: int, points: int) -> bool:
    """l_i lies in [0.1, 0.2) U [0.3, 0.4) U ... U [0.9, 1.0): an odd band below 10."""
    b = band(i, points)
    return b % 2 == 1 and b < 10


def split_grid(points: int) -> tuple[list[int], list[int]]:
    """(training indices, test indices) of the grid, each ascending; together every index once."""
    lambdas(points)  # checks points
    train = [i for i in range(points) if is_train(i, points)]
    test = [i for i in range(points) if not is_train(i, points)]
    return train, test


def nearest_train(i: int, train: list[int]) -> int:
    """The training index nearest to grid index `i` (|i - j| smallest;
    a tie goes to the lower l)."""
    if not train:
        raise ValueError("no training points to take a nearest neighbour from")
    return min(train, key=lambda j: (abs(i - j), j))


def where(i: int, train: list[int]) -> str:
    """``gap`` when a test index lies between two training indices,
    ``outside`` when beyond them all."""
    return "gap" if min(train) < i < max(train) else "outside"


def relative_distance(theta: torch.Tensor, true: torch.Tensor) -> float:
    """||theta - true|| / ||true|| in raw parameter space (float64)."""
    t = true.double()
    return float((theta.double() - t).norm() / t.norm().clamp_min(1e-30))


def line_position(
    theta: torch.Tensor, theta1: torch.Tensor, theta2: torch.Tensor
) -> tuple[float, float]:
    """(l_hat, off): the l of theta's orthogonal projection onto the line theta_1 -> theta_2, and
    the distance from theta to that line relative to ||theta_2 - theta_1||. theta(l) gives
    (l, 0)."""
    a, d = theta1.double(), (theta2.double() - theta1.double())
    dd = float(d.dot(d))
    if dd == 0.0:
        raise ValueError("the two styles' LoRAs are identical: there is no line between them")
    x = theta.double() - a
    lam = float(x.dot(d)) / dd
    return lam, float((x - lam * d).norm()) / dd**0.5


@dataclass
class GeneralisationSet:
    """The M interpolated LoRAs (a ParamSet, row i = theta(l_i)) with the grid and its split."""

    params: ParamSet
    lambdas: list[float]
    train: list[int]
    test: list[int]
    styles: list[str]

    @property
    def points(self) -> int:
        return len(self.lambdas)

    def theta(self, i: int) -> torch.Tensor:
        return self.params.params[i]

    def ends(self) -> tuple[torch.Tensor, torch.Tensor]:
        """theta_1 (l = 0) and theta_2 (l = 1)."""
        return self.params.params[0], self.params.params[-1]

    def nearest(self, i: int) -> int:
        return nearest_train(i, self.train)

    def describe(self) -> dict:
        return {
            "format": SET_FORMAT,
            "styles": self.styles,
            "points": self.points,
            "lambdas": self.lambdas,
            "train": self.train,
            "test": self.test,
            "nearest_train": {str(i): self.nearest(i) for i in self.test},
            "where": {str(i): where(i, self.train) for i in self.test},
        }


def load_set(path) -> GeneralisationSet:
    """Read a set file written by ``build_generalisation_set``;
    its grid must be the one its info records."""
    pset = ParamSet.load(path)
    info = pset.info
    if info.get("kind") != "generalisation-set" or "points" not in info or "styles" not in info:
        raise artifact_error(
            path,
            "not a generalisation set",
            "a parameter file of kind 'generalisation-set' with 'points' and 'styles' in its info",
            f"kind {info.get('kind')!r}",
        )
    points = int(info["points"])
    train, test = split_grid(points)
    if pset.n != points or info.get("train") != train or info.get("test") != test:
        raise artifact_error(
            path,
            "a generalisation set whose rows or split do not fit its grid",
            f"{points} rows, train {train[:4]}..., test {test[:4]}...",
            f"{pset.n} rows, train {info.get('train', [])[:4]}..., test "
            f"{info.get('test', [])[:4]}...",
        )
    return GeneralisationSet(pset, lambdas(points), train, test, list(info["styles"]))


def image_pipeline(base: str, cfg):
    """(pipeline, device): the base's PixArt pipeline without its T5 encoder
    (``generate_images.load_pipeline``), on `cfg`'s device with `cfg`'s thread count."""
    from condpdiff.image.generation.generate_images import load_pipeline

    if cfg.threads > 0:
        torch.set_num_threads(cfg.threads)
    device = torch.device(
        ("cuda" if torch.cuda.is_available() else "cpu") if cfg.device == "auto" else cfg.device
    )
    pipe = load_pipeline(base, cfg)
    pipe.to(device)
    pipe.set_progress_bar_config(disable=True)
    return pipe, device


def inject_lora(pipe, rank: int, alpha: int, pset: ParamSet, path, base: str) -> None:
    """peft LoRA into the pipeline's transformer (once);
    a layout unlike the set's is an error naming `path`."""
    from condpdiff.image.base import pixart

    device = next(pipe.transformer.parameters()).device
    pixart.add_lora(pipe.transformer, pixart.LoraSpec(rank=rank, alpha=alpha))
    pipe.transformer.to(device)
    if pixart.lora_layout(pipe.transformer) != pset.layout:
        raise artifact_error(
            path,
            f"LoRA layout that does not fit base {base} at rank {rank}",
            "the base's LoRA layout",
            pset.describe(),
        )


def set_lora(pipe, pset: ParamSet, row: int) -> None:
    from condpdiff.image.base import pixart

    pixart.load_lora_state(pipe.transformer, pset.lora_state_dict(row))


def set_vector(pipe, vector: torch.Tensor, layout) -> None:
    from condpdiff.image.base import pixart
    from condpdiff.params.paramfile import unflatten

    pixart.load_lora_state(pipe.transformer, unflatten(vector, layout))


class KeepImages:
    """Stands in for an ``Extractor`` in ``generate_images.generate_row``: returns the real
    extractor's features and keeps the images it was given (uint8 [n, 3, r, r], already resized and
    centre-cropped to the FID resolution), so one generation pass gives both the features and the
    images."""

    def __init__(self, extractor):
        self.extractor, self.kept = extractor, []

    def extract(self, images: torch.Tensor, batch_size: int = 64) -> torch.Tensor:
        self.kept.append(images)
        return self.extractor.extract(images, batch_size)

    def take(self) -> torch.Tensor:
        out, self.kept = torch.cat(self.kept), []
        return out


def dump_info(info: dict) -> str:
    return json.dumps(info, sort_keys=True)


def load_conditions(path, points: int | None = None) -> tuple[torch.Tensor, dict]:
    """(maps [M, k, C, h, w], info) of a conditions file (``generate_generalisation_images``)."""
    from condpdiff.pipeline.artifacts import check_finite, open_safetensors

    with open_safetensors(
        path, "generalisation conditions file", CONDITIONS_FORMAT, tensors=("maps",)
    ) as (f, meta):
        maps = f.get_tensor("maps")
        info = json.loads(meta.get("info", "{}"))
    if maps.ndim != 5 or (points is not None and maps.shape[0] != points):
        raise artifact_error(
            path,
            "generalisation condition maps of the wrong shape",
            f"[{points if points is not None else 'M'}, k, C, h, w]",
            f"{list(maps.shape)}",
        )
    check_finite(maps, path, "maps")
    return maps.float(), info
