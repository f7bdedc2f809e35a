"""FID features of one part (train or reference) of a style's own images, cached once per style.

Reads that part's images ONLY (a selection job reads train features; reference features are
for reporting), resizes each (short side) and centre-crops it to ``--resolution`` as the
generated images are (``features.resize_and_crop``), and writes a features file
(``condpdiff.image.fid.features``) with R = 1 row.
"""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path

import numpy as np
import torch

from condpdiff.image.args import add_extractor_args
from condpdiff.image.fid.extractors import DEFAULT_EXTRACTOR
from condpdiff.image.fid.features import Extractor, FeatureSet, resize_and_crop
from condpdiff.image.styles.splitfile import PARTS, load_split
from condpdiff.util import cli

log = logging.getLogger("condpdiff.image.fid.extract_features")


def load_images(paths: list[Path], resolution: int) -> torch.Tensor:
    """uint8 [N, 3, resolution, resolution] of the image files, RGB, resized and centre-cropped."""
    from PIL import Image, UnidentifiedImageError

    out = []
    for p in paths:
        try:
            with Image.open(p) as im:
                a = np.asarray(im.convert("RGB"), dtype=np.uint8)
        except (OSError, UnidentifiedImageError) as e:
            raise ValueError(f"{p}: not a readable image ({type(e).__name__}: {e})") from None
        out.append(resize_and_crop(torch.from_numpy(a.copy()).permute(2, 0, 1)[None], resolution))
    return torch.cat(out)


def part_features(
    split_path: str | Path, part: str, resolution: int, extractor: Extractor, batch_size: int = 64
) -> FeatureSet:
    """The features of one part of a split file's images (R = 1 row)."""
    split = load_split(split_path)
    paths = split.paths(part)
    if len(paths) < 2:
        raise ValueError(
            f"{split_path}: part {part!r} holds {len(paths)} image(s); FID needs at least 2"
        )
    t0 = time.time()
    feats = extractor.extract(load_images(paths, resolution), batch_size)
    info = {
        "kind": "real",
        **extractor.describe(),
        "resolution": resolution,
        "n_images": len(paths),
        "style": split.style,
        "part": part,
        "split_file": str(split_path),
        "split_seed": split.seed,
        "rows": [0],
        "steps": [0],
        "seconds": round(time.time() - t0, 3),
    }
    return FeatureSet(feats[None], info)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--split", required=True, help="style split file (.json)")
    p.add_argument("--part", required=True, choices=PARTS)
    p.add_argument(
        "--resolution", type=int, required=True, help="side the images are resized and cropped to"
    )
    add_extractor_args(p, default=DEFAULT_EXTRACTOR, feature_layer=True)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--device", default="auto", help="auto | cpu | cuda")
    p.add_argument("--out", required=True, help="features file (.safetensors)")
    a = p.parse_args(argv)
    cli.setup_logging()
    device = ("cuda" if torch.cuda.is_available() else "cpu") if a.device == "auto" else a.device
    extractor = Extractor(a.extractor, a.weights_path, a.feature_layer, device)
    fs = part_features(a.split, a.part, a.resolution, extractor, a.batch_size)
    fs.save(a.out)
    log.info(
        "%s %s: %d images -> features %s",
        fs.info["style"],
        a.part,
        fs.info["n_images"],
        tuple(fs.features.shape),
    )


if __name__ == "__main__":
    main()
