"""The local inputs the text benchmarks read by default (the development machine's ``../shared``
beside the clone), checked before any work starts, so a missing copy is a one-line error that
names the flag instead of a traceback from transformers or pandas."""

from __future__ import annotations

import argparse
from pathlib import Path

SHARED = Path(__file__).resolve().parents[2] / "shared"
MODEL = SHARED / "models/all-MiniLM-L6-v2"
GLUE = SHARED / "data/glue"


def check(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Stop with a named error when --model names a missing folder or --glue-dir is missing."""
    model = getattr(args, "model", None)
    if model is not None and not Path(model).is_dir():
        looks_local = model.startswith(("/", ".", "~")) or model.count("/") != 1
        if looks_local:
            parser.error(
                f"--model: no folder {model!r} (the default is a local copy under ../shared); pass "
                "a local model folder or a hub id such as sentence-transformers/all-MiniLM-L6-v2"
            )
    glue = getattr(args, "glue_dir", None)
    if glue is not None and not Path(glue).is_dir():
        parser.error(
            f"--glue-dir: no folder {glue!r} (the default is a local copy under ../shared): pass a"
            " folder in the classic GLUE layout (<dir>/SST-2/train.tsv, dev.tsv, ...)"
        )
