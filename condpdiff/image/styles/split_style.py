"""Split one style folder, seeded, into LoRA-training images and held-out FID reference images.

Writes the style split file (``condpdiff.image.styles.splitfile``). Captions come from the folder's
``captions.json`` (file name -> caption) when it has one, else every image gets
``--default-caption``. The generation prompts are ``--prompts`` when given, else the distinct
captions of the TRAIN images (sorted), so no reference caption steers generation either.
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

from condpdiff.image.styles.folder import (
    StyleSplit,
    list_images,
    prefix_group,
    split_style,
    split_style_groups,
)
from condpdiff.image.styles.make_style_folder import CAPTIONS
from condpdiff.image.styles.splitfile import StyleSplitFile
from condpdiff.util import cli

log = logging.getLogger("condpdiff.image.styles.split_style")


def read_captions(folder: Path, images: list[Path], default: str | None) -> dict[Path, str]:
    file = folder / CAPTIONS
    if not file.exists():
        if default is None:
            raise ValueError(
                f"{folder}: no {CAPTIONS} (file name -> caption) and no default caption given "
                "(image.styles.<name>.caption in the config)"
            )
        return {p: default for p in images}
    try:
        captions = json.loads(file.read_text())
    except ValueError as e:
        raise ValueError(
            f"{file}: not readable JSON ({e}); expected {{file name: caption}}"
        ) from None
    missing = [p.name for p in images if p.name not in captions and default is None]
    if missing:
        raise ValueError(f"{file}: no caption for {len(missing)} images, e.g. {missing[:3]}")
    return {p: captions.get(p.name, default) for p in images}


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--folder", required=True, help="the style's image folder")
    p.add_argument("--style", required=True)
    p.add_argument(
        "--n-reference", type=int, required=True, help="images held out for FID (at least)"
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--group-by",
        choices=["none", "prefix"],
        default="none",
        help="prefix: images sharing a file-name prefix (before the last '_') stay on one side",
    )
    p.add_argument("--min-train", type=int, default=2)
    p.add_argument("--default-caption", default=None)
    p.add_argument(
        "--prompts",
        nargs="*",
        default=None,
        help="generation prompts (default: the train captions)",
    )
    p.add_argument("--out", required=True, help="style split file (.json)")
    a = p.parse_args(argv)
    cli.setup_logging()
    folder = Path(a.folder)
    cfg = StyleSplit(a.n_reference, a.seed, a.min_train)
    images = list_images(folder, min_count=cfg.needed)
    if a.group_by == "prefix":
        train, reference = split_style_groups(
            images, a.n_reference, a.seed, prefix_group, a.min_train
        )
    else:
        train, reference = split_style(images, a.n_reference, a.seed, a.min_train)
    captions = read_captions(folder, images, a.default_caption)
    prompts = list(a.prompts) if a.prompts else sorted({captions[q] for q in train})
    entry = lambda q: {"path": str(q), "caption": captions[q]}  # noqa: E731
    StyleSplitFile(
        a.style,
        str(folder),
        a.seed,
        [entry(q) for q in train],
        [entry(q) for q in reference],
        prompts,
    ).save(a.out)
    log.info(
        "%s: %d train, %d reference images, %d prompts",
        a.style,
        len(train),
        len(reference),
        len(prompts),
    )


if __name__ == "__main__":
    main()
