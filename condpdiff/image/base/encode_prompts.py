"""Encode every caption and prompt of the style splits once with the base's T5
(``prompts.PromptCache``).

Collects the captions of every split's ``train`` AND ``reference`` entries, every split's
generation ``prompts`` and the captions of any ``--extra-folders`` (``captions.json``), and
encodes the distinct ones, sorted (so the file does not depend on the order of ``--splits``),
after row 0 = "". This is the only job that loads the T5 encoder (4.3B parameters for
PixArt-alpha): only the text encoder and tokenizer of the base are read.
"""

from __future__ import annotations

import argparse
import logging
import time

import torch

from condpdiff.generator.training import pick_device, set_threads
from condpdiff.image.base.latents import read_captions
from condpdiff.image.base.prompts import encode
from condpdiff.image.styles.splitfile import load_split
from condpdiff.util import cli

log = logging.getLogger("condpdiff.image.base.encode_prompts")


def collect_prompts(splits: list[str], extra_folders: list[str] = ()) -> list[str]:
    """The distinct captions/prompts of the splits (train, reference,
    prompts) and extra folders, sorted."""
    texts: set[str] = set()
    for path in splits:
        split = load_split(path)
        texts.update(split.captions("train"), split.captions("reference"), split.prompts)
    for folder in extra_folders:
        texts.update(caption for _, caption in read_captions(folder))
    return sorted(texts - {""})


def load_text_encoder(base: str, device: torch.device, dtype: torch.dtype):
    """The base's T5 encoder and tokenizer only (hub id or local folder with those subfolders)."""
    from pathlib import Path

    from transformers import AutoTokenizer, T5EncoderModel

    if Path(base).exists():
        missing = [s for s in ("text_encoder", "tokenizer") if not (Path(base) / s).is_dir()]
        if missing:
            raise ValueError(
                f"{base}: expected the subfolders text_encoder, tokenizer; missing "
                f"{', '.join(missing)}"
            )
    encoder = (
        T5EncoderModel.from_pretrained(base, subfolder="text_encoder", dtype=dtype)
        .to(device)
        .eval()
    )
    return encoder, AutoTokenizer.from_pretrained(base, subfolder="tokenizer")


def main(argv=None) -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--base", required=True, help="PixArt-alpha hub id or local diffusers folder")
    p.add_argument("--splits", nargs="+", required=True, help="style split files (split_style)")
    p.add_argument(
        "--extra-folders",
        nargs="*",
        default=[],
        help="folders whose captions.json captions are added",
    )
    p.add_argument("--max-length", type=int, default=120, help="T5 tokens (PixArt-alpha: 120)")
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument(
        "--dtype",
        choices=("auto", "float32", "bfloat16"),
        default="auto",
        help=(
            "T5 weights: auto = bfloat16 on a GPU, float32 on a CPU (embeddings are saved float32)"
        ),
    )
    p.add_argument("--device", default="auto")
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--out", required=True, help="prompt cache (.safetensors)")
    a = p.parse_args(argv)
    cli.setup_logging()
    set_threads(a.threads)
    device = pick_device(a.device)
    auto = torch.bfloat16 if device.type == "cuda" else torch.float32
    dtype = auto if a.dtype == "auto" else getattr(torch, a.dtype)
    texts = collect_prompts(a.splits, a.extra_folders)
    t0 = time.time()
    encoder, tokenizer = load_text_encoder(a.base, device, dtype)
    cache = encode(encoder, tokenizer, texts, a.max_length, a.batch_size)
    cache.save(
        a.out,
        info={
            "base": a.base,
            "max_length": a.max_length,
            "n_prompts": len(cache.prompts),
            "splits": sorted(map(str, a.splits)),
            "extra_folders": sorted(map(str, a.extra_folders)),
            "dtype": str(dtype).removeprefix("torch."),
        },
    )
    log.info("%d prompts encoded in %.1fs -> %s", len(cache.prompts), time.time() - t0, a.out)


if __name__ == "__main__":
    main()
