"""Styles: a style is a named folder of images.

``list_images`` returns the folder's images (png, jpg, jpeg, webp; sorted by name), each one
opened and verified with PIL, so a corrupt file fails here, naming it, rather than in the
middle of a LoRA training. ``split_style`` divides them, seeded and deterministically, into
the LoRA's training images and a disjoint *reference* set that is held out for FID only
(the public code measured FID against the LoRA's own training folder: a leak not to copy).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp")


@dataclass(frozen=True)
class StyleSplit:
    """How a style folder is split: `n_reference` images held out for FID, the rest train."""

    n_reference: int
    seed: int = 0
    min_train: int = 1

    def __post_init__(self) -> None:
        if self.n_reference < 1:
            raise ValueError(f"n_reference must be >= 1, got {self.n_reference}")
        if self.min_train < 1:
            raise ValueError(f"min_train must be >= 1, got {self.min_train}")

    @property
    def needed(self) -> int:
        return self.n_reference + self.min_train


def _verify(path: Path) -> None:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            im.verify()  # checks the file's structure ...
        with Image.open(path) as im:
            im.load()  # ... and decodes the pixels (verify() alone misses truncated data)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise ValueError(f"{path}: not a readable image ({type(exc).__name__}: {exc})") from exc


def list_images(folder: str | Path, verify: bool = True, min_count: int = 1) -> list[Path]:
    """The images of a style folder, sorted by file name, each verified with PIL.

    Raises ValueError naming the folder when it holds fewer than `min_count` images, and
    naming the file when an image cannot be decoded.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise ValueError(f"{folder}: expected a folder of style images, found no such folder")
    files = sorted(
        (p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES),
        key=lambda p: p.name,
    )
    if len(files) < min_count:
        raise ValueError(
            f"{folder}: needs at least {min_count} images ({', '.join(IMAGE_SUFFIXES)}), found "
            f"{len(files)}"
        )
    if verify:
        for p in files:
            _verify(p)
    return files


def split_style(
    images: list[Path], n_reference: int, seed: int, min_train: int = 1
) -> tuple[list[Path], list[Path]]:
    """Split a style's images into (train, reference); disjoint, seeded, deterministic.

    The input is sorted first, so the split depends only on the set of images and the seed.
    Both outputs come back sorted. Raises ValueError when there are fewer than
    ``n_reference + min_train`` images or when an image is listed twice.
    """
    cfg = StyleSplit(n_reference=n_reference, seed=seed, min_train=min_train)
    ordered = sorted(Path(p) for p in images)
    if len(set(ordered)) != len(ordered):
        raise ValueError("split_style: an image is listed more than once")
    if len(ordered) < cfg.needed:
        where = ordered[0].parent if ordered else "(no images)"
        raise ValueError(
            f"{where}: the split needs {cfg.needed} images ({cfg.n_reference} reference + "
            f"{cfg.min_train} train), found {len(ordered)}"
        )
    picked = set(random.Random(cfg.seed).sample(range(len(ordered)), cfg.n_reference))
    reference = [p for i, p in enumerate(ordered) if i in picked]
    train = [p for i, p in enumerate(ordered) if i not in picked]
    return train, reference


def prefix_group(path: Path) -> str:
    """The group of an image under ``group_by: prefix``: its file stem up to the last '_'."""
    stem = Path(path).stem
    return stem.rsplit("_", 1)[0] if "_" in stem else stem


def split_style_groups(
    images: list[Path], n_reference: int, seed: int, group_of, min_train: int = 1
) -> tuple[list[Path], list[Path]]:
    """Like `split_style`, but images of one group (``group_of(path)``) stay on one side.

    Groups are drawn in a seeded order into the reference set until it holds at least
    `n_reference` images; the rest train. For crops of one photo half, say: two crops of the
    same half overlap in pixels, so they must not be split between train and reference.
    """
    groups: dict[str, list[Path]] = {}
    for p in sorted(Path(p) for p in images):
        groups.setdefault(group_of(p), []).append(p)
    if len(groups) < 2:
        raise ValueError(f"split by group needs at least two groups, found {list(groups)[:3]}")
    keys = sorted(groups)
    random.Random(seed).shuffle(keys)
    reference: list[Path] = []
    for k in keys:
        if len(reference) >= n_reference:
            break
        reference += groups[k]
    train = sorted(set(map(Path, images)) - set(reference))
    if len(train) < min_train:
        raise ValueError(
            f"split by group leaves {len(train)} train images (needs {min_train}): lower "
            "n_reference"
        )
    return train, sorted(reference)


def split_style_folder(folder: str | Path, split: StyleSplit) -> tuple[list[Path], list[Path]]:
    """`list_images` + `split_style` for one style folder."""
    return split_style(
        list_images(folder, min_count=split.needed), split.n_reference, split.seed, split.min_train
    )
