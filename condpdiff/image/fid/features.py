"""FID features: torch-fidelity extractors run on uint8 images, cached per image set, and FID
between two cached feature matrices by torch-fidelity's own statistics functions.

Generating images is the expensive step; FID is cheap once the features are known. So every
generation job keeps only the features of its images (not the images), and every FID (any
split, any selection rule, any real image set) is recomputed from cached features.

The *features file* is one safetensors file:

- ``features`` float32 [R, n, D]: R parameter rows (LoRA rows generated from; a real image
  set has R = 1) x n images x D feature dimensions;
- metadata ``format`` = ``condpdiff-image-features/1`` and ``info`` (JSON): ``kind``
  (``real`` | ``generated``), ``extractor``, ``feature_layer``, ``weights_path``, ``resolution``,
  ``n_images``, ``style``, ``rows`` and ``steps`` (one per row); ``part`` and ``split_seed``
  for real sets; ``params_file``, ``row_selection``, ``generation``, ``seconds_per_row`` (and
  ``soup_of`` for a soup) for generated sets.

Images of every set are resized (short side, bicubic, antialiased) and centre-cropped to the
same ``resolution`` before features (``resize_and_crop``), real and generated alike.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F

from condpdiff.image.fid.extractors import DEFAULT_EXTRACTOR, OURS, register_extractor
from condpdiff.pipeline.artifacts import artifact_error, check_finite, open_safetensors
from condpdiff.util.atomic import save_safetensors

FORMAT = "condpdiff-image-features/1"
KINDS = ("real", "generated")
INFO_KEYS = ("kind", "extractor", "feature_layer", "resolution", "n_images", "rows", "steps")


class Extractor:
    """A torch-fidelity feature extractor created by name, returning one feature layer."""

    def __init__(
        self,
        name: str = DEFAULT_EXTRACTOR,
        weights_path: str | None = None,
        feature_layer: str | None = None,
        device: str | torch.device = "cpu",
    ):
        from torch_fidelity.registry import FEATURE_EXTRACTORS_REGISTRY
        from torch_fidelity.utils import create_feature_extractor

        if name in OURS:
            register_extractor(name, OURS[name])
        if name not in FEATURE_EXTRACTORS_REGISTRY:
            raise ValueError(
                f"unknown feature extractor {name!r}: torch-fidelity knows "
                f"{sorted(FEATURE_EXTRACTORS_REGISTRY)}"
            )
        cls = FEATURE_EXTRACTORS_REGISTRY[name]
        self.name, self.weights_path = name, weights_path
        self.layer = feature_layer or cls.get_default_feature_layer_for_metric("fid")
        if self.layer not in cls.get_provided_features_list():
            raise ValueError(
                f"feature extractor {name!r} has no layer {self.layer!r}: "
                f"it provides {list(cls.get_provided_features_list())}"
            )
        self.device = torch.device(device)
        kwargs = {"verbose": False}
        if weights_path:
            kwargs["feature_extractor_weights_path"] = str(weights_path)
        self.module = create_feature_extractor(
            name, [self.layer], cuda=self.device.type == "cuda", **kwargs
        )

    def describe(self) -> dict:
        return {
            "extractor": self.name,
            "feature_layer": self.layer,
            "weights_path": self.weights_path,
        }

    @torch.no_grad()
    def extract(self, images: torch.Tensor, batch_size: int = 64) -> torch.Tensor:
        """float32 [N, D] features (CPU) of uint8 images [N, 3, H, W], `batch_size` at a time."""
        if not (images.dtype == torch.uint8 and images.dim() == 4 and images.shape[1] == 3):
            raise ValueError(
                f"extract expects uint8 images [N, 3, H, W], got {images.dtype} "
                f"{tuple(images.shape)}"
            )
        out = []
        for start in range(0, images.shape[0], batch_size):
            (feats,) = self.module(images[start : start + batch_size].to(self.device))
            out.append(feats.detach().to("cpu", torch.float32).reshape(feats.shape[0], -1))
        return torch.cat(out)


def to_uint8(images: torch.Tensor) -> torch.Tensor:
    """Float images in 0..1 (a pipeline's ``output_type="pt"``) -> uint8 0..255 on the CPU."""
    return (images.detach().float().cpu().clamp(0, 1) * 255).round().to(torch.uint8)


def resize_and_crop(images: torch.Tensor, side: int) -> torch.Tensor:
    """uint8 [N, 3, H, W] -> uint8 [N, 3, side, side]: short side to `side` (bicubic,
    antialiased), centre crop."""
    if side < 1:
        raise ValueError(f"resolution must be >= 1, got {side}")
    h, w = images.shape[-2:]
    if (h, w) != (side, side):
        scale = side / min(h, w)
        nh, nw = max(side, round(h * scale)), max(side, round(w * scale))
        if (nh, nw) != (h, w):
            x = F.interpolate(
                images.float(), size=(nh, nw), mode="bicubic", align_corners=False, antialias=True
            )
            images = x.round().clamp(0, 255).to(torch.uint8)
        top, left = (nh - side) // 2, (nw - side) // 2
        images = images[:, :, top : top + side, left : left + side]
    return images.contiguous()


def fid_between(a: torch.Tensor, b: torch.Tensor) -> float:
    """FID between two feature matrices [n, D] and [m, D], by torch-fidelity's own functions."""
    from torch_fidelity.metric_fid import (
        KEY_METRIC_FID,
        fid_features_to_statistics,
        fid_statistics_to_metric,
    )

    if a.dim() != 2 or b.dim() != 2 or a.shape[1] != b.shape[1]:
        raise ValueError(
            f"FID needs two feature matrices of one width, got {tuple(a.shape)} and "
            f"{tuple(b.shape)}"
        )
    if min(a.shape[0], b.shape[0]) < 2:
        raise ValueError(
            f"FID needs at least 2 images per set (a covariance), got {a.shape[0]} and {b.shape[0]}"
        )
    stat_a = fid_features_to_statistics(a.detach().cpu().to(torch.float32))
    stat_b = fid_features_to_statistics(b.detach().cpu().to(torch.float32))
    return float(fid_statistics_to_metric(stat_a, stat_b, False)[KEY_METRIC_FID])


@dataclass
class FeatureSet:
    """Cached features [R, n, D] of R image sets of n images each,
    and what made them (module docstring)."""

    features: torch.Tensor
    info: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.features.dim() != 3:
            raise ValueError(
                f"features must be [rows, images, dims], got shape {tuple(self.features.shape)}"
            )
        missing = [k for k in INFO_KEYS if k not in self.info]
        if missing:
            raise ValueError(f"features info lacks {missing}")
        if self.info["kind"] not in KINDS:
            raise ValueError(f"features kind must be one of {KINDS}, got {self.info['kind']!r}")
        r, n, _ = self.features.shape
        if int(self.info["n_images"]) != n:
            raise ValueError(f"info says {self.info['n_images']} images per row, features hold {n}")
        for key in ("rows", "steps"):
            if len(self.info[key]) != r:
                raise ValueError(
                    f"info {key!r} lists {len(self.info[key])} entries for {r} feature rows"
                )
        if self.info["kind"] == "real" and (
            r != 1 or self.info.get("part") not in ("train", "reference")
        ):
            raise ValueError(
                f"real features need 1 row and part train|reference, got {r} rows, "
                f"part {self.info.get('part')!r}"
            )

    @property
    def n_rows(self) -> int:
        return self.features.shape[0]

    def row(self, i: int) -> torch.Tensor:
        return self.features[i]

    def save(self, path: str | Path) -> None:
        save_safetensors(
            path,
            {"features": self.features.to(torch.float32).contiguous()},
            {"format": FORMAT, "info": json.dumps(self.info, sort_keys=True)},
        )


def load_features(path: str | Path) -> FeatureSet:
    """Read a features file; a missing, foreign, inconsistent or non-finite one is an error naming
    it."""
    with open_safetensors(path, "image features file", FORMAT, tensors=("features",)) as (f, meta):
        features = f.get_tensor("features")
        try:
            info = json.loads(meta["info"])
        except (KeyError, ValueError) as e:
            raise artifact_error(
                path, "image features file without readable info", "JSON 'info' metadata", repr(e)
            ) from None
    if features.dtype != torch.float32:
        raise artifact_error(
            path, "image features of the wrong type", "float32", str(features.dtype)
        )
    try:
        fs = FeatureSet(features, info)
    except ValueError as e:
        raise artifact_error(
            path,
            "inconsistent image features file",
            f"info keys {list(INFO_KEYS)} matching features [rows, images, dims]",
            str(e),
        ) from None
    check_finite(features, path, "features")
    return fs


def require_comparable(a: FeatureSet, a_path, b: FeatureSet, b_path) -> None:
    """Two feature sets FID may compare: same extractor, layer, width and resolution;
    else an error naming both."""
    keys = ("extractor", "feature_layer", "resolution")
    theirs = {k: b.info.get(k) for k in keys} | {"dims": b.features.shape[-1]}
    ours = {k: a.info.get(k) for k in keys} | {"dims": a.features.shape[-1]}
    if ours != theirs:
        raise artifact_error(
            a_path,
            f"image features not comparable with {b_path}",
            f"features like it: {theirs}",
            str(ours),
        )
