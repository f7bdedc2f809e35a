"""The style split file: which images of a style train the LoRA and which are held out for FID.

A JSON file (written by ``condpdiff.image.styles.split_style``)::

    {"format": "condpdiff-style-split/1", "style": "stl-03", "folder": "...", "seed": 0,
     "train":     [{"path": "<image file>", "caption": "<its caption>"}, ...],
     "reference": [{"path": "<image file>", "caption": "<its caption>"}, ...],
     "prompts":   ["<generation prompt>", ...]}

``train`` images fine-tune the LoRA, serve as the generator's condition images and select
the candidate; ``reference`` images are read by FID reporting only. ``prompts`` are the
prompts every arm generates from (same prompts, same seeds for every arm).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from condpdiff.pipeline.artifacts import artifact_error, load_json
from condpdiff.util.atomic import write_json

FORMAT = "condpdiff-style-split/1"
PARTS = ("train", "reference")


@dataclass
class StyleSplitFile:
    style: str
    folder: str
    seed: int
    train: list[dict]  # {"path", "caption"}
    reference: list[dict]
    prompts: list[str]

    def paths(self, part: str) -> list[Path]:
        if part not in PARTS:
            raise ValueError(f"split part must be one of {PARTS}, got {part!r}")
        return [Path(e["path"]) for e in getattr(self, part)]

    def captions(self, part: str) -> list[str]:
        return [e["caption"] for e in getattr(self, part)]

    def save(self, path: str | Path) -> None:
        overlap = set(self.paths("train")) & set(self.paths("reference"))
        if overlap:
            raise ValueError(
                f"style {self.style}: images in both train and reference: {sorted(overlap)[:3]}"
            )
        write_json(
            path,
            {
                "format": FORMAT,
                "style": self.style,
                "folder": self.folder,
                "seed": self.seed,
                "train": self.train,
                "reference": self.reference,
                "prompts": self.prompts,
            },
        )


def load_split(path: str | Path) -> StyleSplitFile:
    """Read a split file; a missing, foreign or malformed one is an error naming it."""
    d = load_json(path, "style split file", FORMAT, keys=("style", "train", "reference", "prompts"))
    for part in PARTS:
        if not d[part] or not all(
            isinstance(e, dict) and {"path", "caption"} <= set(e) for e in d[part]
        ):
            raise artifact_error(
                path,
                f"style split with an unusable '{part}' list",
                "a non-empty list of {path, caption}",
                f"{str(d[part])[:80]}",
            )
    if not d["prompts"]:
        raise artifact_error(
            path, "style split without generation prompts", "a non-empty 'prompts' list", "[]"
        )
    return StyleSplitFile(
        d["style"],
        d.get("folder", ""),
        int(d.get("seed", 0)),
        d["train"],
        d["reference"],
        list(d["prompts"]),
    )
