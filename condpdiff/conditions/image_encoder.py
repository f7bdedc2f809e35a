"""The image-style condition's feature network: a frozen torchvision ResNet-18, cut after one stage.

A style's condition is its train images seen through a frozen feature network; a small
trainable projector inside the diffusion model (``denoiser``, ``cond_mode="conv"``) turns
one such feature map into the condition embedding. This module is the frozen half.

Images come in as float [N, 3, H, W] in 0..1 (or a list of [3, H, W] of different sizes).
Each is resized so its short side is ``image_size`` and centre-cropped to a square of that
size (so every image of every style gives a map of one shape), normalised with ImageNet
mean/std, and run through the stem and stages up to ``layer`` (``layer2`` by default: for
64 px images a [128, 8, 8] map). Output: [N, C, h, w] float32.

``weights``: ``IMAGENET1K_V1`` (torchvision's, downloaded into torch's cache), a local
state-dict file (.pth / .pt / .safetensors of a full torchvision resnet18), or ``random``
(a seeded initialisation: there is no pretrained knowledge in it, and ``description`` says
so, so that every file made with it carries the warning).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

LAYERS = ("layer1", "layer2", "layer3", "layer4")
CHANNELS = {"layer1": 64, "layer2": 128, "layer3": 256, "layer4": 512}
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
TORCHVISION_WEIGHTS = ("IMAGENET1K_V1",)


@dataclass
class ImageEncoderConfig:
    weights: str = "IMAGENET1K_V1"  # IMAGENET1K_V1 | a local state-dict file | random
    layer: str = "layer2"  # the stage whose output is the feature map: layer1..layer4
    image_size: int = 64  # short side after resizing (then centre-cropped to a square)
    seed: int = 0  # for weights=random
    device: str = "cpu"


def random_description(seed: int) -> str:
    return f"random init (seed {seed}): no pretrained weights available"


def _file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()[:12]


def _read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """A state dict from a .safetensors or torch-pickled (.pth/.pt) file; an unreadable one names
    the file."""
    if not path.is_file():
        raise FileNotFoundError(
            f"{path}: ResNet-18 weights file not found; expected a state-dict file "
            f"(.pth or .safetensors), 'IMAGENET1K_V1' or 'random'"
        )
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            state = load_file(str(path))
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - any reader failure is the same problem for the user
        raise ValueError(
            f"{path}: unreadable ResNet-18 weights file; expected a state dict saved with "
            f"torch.save or safetensors; found {type(e).__name__}: {e}"
        ) from None
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ValueError(
            f"{path}: not a ResNet-18 state dict; expected a mapping of parameter names to "
            f"tensors; found {type(state).__name__}"
        )
    return state


def build_resnet18(weights: str, seed: int = 0) -> tuple[nn.Module, str]:
    """(torchvision resnet18 with `weights`, a description of those weights)."""
    from torchvision.models import ResNet18_Weights, resnet18

    if weights == "random":
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            net = resnet18(weights=None)
        return net, random_description(seed)
    if weights in TORCHVISION_WEIGHTS:
        try:
            net = resnet18(weights=getattr(ResNet18_Weights, weights))
        except Exception as e:  # noqa: BLE001 - a download failure surfaces as many exception types
            raise RuntimeError(
                f"could not get torchvision's ResNet-18 {weights} weights ({type(e).__name__}: "
                f"{e}). Offline, give a local weights file (--weights /path/resnet18.pth or "
                ".safetensors) or 'random' (no pretrained features)"
            ) from None
        return net, f"torchvision {weights}"
    path = Path(weights)
    state = _read_state_dict(path)
    net = resnet18(weights=None)
    missing, unexpected = net.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise ValueError(
            f"{path}: weights do not fit torchvision's resnet18; expected its parameter names; "
            f"found missing {sorted(missing)[:3]}, unexpected {sorted(unexpected)[:3]}"
        )
    return net, f"file {path.name} sha256 {_file_digest(path)}"


class ResNetFeatures(nn.Module):
    """Frozen ResNet-18 stem + stages up to `layer`: images in 0..1 -> [N, C, h, w] float32 maps."""

    def __init__(self, cfg: ImageEncoderConfig | None = None):
        super().__init__()
        cfg = cfg or ImageEncoderConfig()
        if cfg.layer not in LAYERS:
            raise ValueError(f"image encoder layer must be one of {LAYERS}, got {cfg.layer!r}")
        if cfg.image_size < 8:
            raise ValueError(
                f"image encoder image_size must be at least 8 pixels, got {cfg.image_size}"
            )
        self.cfg = cfg
        net, self.weights_description = build_resnet18(cfg.weights, cfg.seed)
        stages = [net.conv1, net.bn1, net.relu, net.maxpool]
        for name in LAYERS[: LAYERS.index(cfg.layer) + 1]:
            stages.append(getattr(net, name))
        self.body = nn.Sequential(*stages)
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1))
        self.requires_grad_(False)
        self.to(cfg.device).eval()

    @property
    def channels(self) -> int:
        return CHANNELS[self.cfg.layer]

    @property
    def name(self) -> str:
        """``resnet18:<weights description>:<layer>``: the condition file's ``encoder`` field."""
        return f"resnet18:{self.weights_description}:{self.cfg.layer}"

    def preprocess(self, image: torch.Tensor) -> torch.Tensor:
        """[3, H, W] in 0..1 -> [3, S, S] normalised: short side resized to S, centre-cropped."""
        if image.ndim != 3 or image.shape[0] != 3:
            raise ValueError(f"expected an RGB image [3, H, W], found shape {list(image.shape)}")
        from torchvision.transforms.v2 import functional as F

        s = self.cfg.image_size
        x = F.resize(image.float()[None], [s], antialias=True)  # an int size resizes the short side
        x = F.center_crop(x, [s, s])
        return (x - self.mean.to(x.device)) / self.std.to(x.device)

    @torch.no_grad()
    def forward(self, images: torch.Tensor | list[torch.Tensor]) -> torch.Tensor:
        if isinstance(images, torch.Tensor):
            if images.ndim != 4 or images.shape[1] != 3:
                raise ValueError(
                    f"expected images [N, 3, H, W] in 0..1, found shape {list(images.shape)}"
                )
            images = list(images)
        if not images:
            raise ValueError("no images to encode")
        device = self.mean.device
        x = torch.cat([self.preprocess(im.to(device)) for im in images])
        return self.body(x).float().cpu()
