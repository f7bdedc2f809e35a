"""Build a tiny random PixArt-alpha pipeline (``pixart.build_tiny_pipeline``) into a folder.

The folder is ``save_pretrained``'s diffusers layout (one subfolder per component), which
``pixart.load_components`` and ``pretrain_base`` read back. Written atomically: the folder is
either complete or absent. Same config and seed give the same weights.
"""

from __future__ import annotations

import argparse
import logging

from condpdiff.image.base.pixart import TinyPixArtConfig, build_tiny_pipeline
from condpdiff.util import cli
from condpdiff.util.atomic import atomic_dir

log = logging.getLogger("condpdiff.image.base.build_base")


def build_base(out: str, cfg: TinyPixArtConfig, seed: int = 0) -> None:
    pipe = build_tiny_pipeline(cfg, seed=seed)
    with atomic_dir(out) as tmp:
        pipe.save_pretrained(tmp)
    n = sum(p.numel() for p in pipe.transformer.parameters())
    log.info("tiny PixArt (%d transformer parameters, %d px images) -> %s", n, cfg.image_size, out)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--out", required=True, help="folder to write (diffusers layout)")
    p.add_argument("--seed", type=int, default=0, help="seed of the random weights")
    cli.add_dataclass_args(p, TinyPixArtConfig)
    a = p.parse_args(argv)
    cli.setup_logging()
    build_base(a.out, cli.dataclass_from_args(TinyPixArtConfig, a), a.seed)


if __name__ == "__main__":
    main()
