"""Benchmark: the image branch's two precision switches in fp32 vs bf16,
side by side in one process.

- style LoRA fine-tuning (``image.finetune.mixed_precision``: ``no`` vs ``bf16`` autocast):
  `--steps` training steps of ``finetune_style_lora.train`` on one style's train images;
- image generation (``image.generation.dtype``: float32 vs bfloat16 weights): one row of
  `--images` images with ``generate_images.generate_row``.

Prints both times, the ratio and whether this CPU runs bf16 natively (only then does
``mixed_precision: auto`` pick bf16). Needs a base, its prompt cache and a style split, e.g.
those the image demo caches (``snakemake --cores 2 --configfile config/image_demo_cpu.yaml``):

    python benchmarks/bench_bf16_image.py --results results/image_demo_cpu --style stl06 --threads 2
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace

import torch

from condpdiff.image.base.prompts import PromptCache
from condpdiff.image.generation.generate_images import GenerationConfig, generate_row, load_pipeline
from condpdiff.image.lora.finetune_style_lora import StyleFinetuneConfig, prepare, train
from condpdiff.image.styles.splitfile import load_split
from condpdiff.util.precision import cpu_has_bf16


class _NoFeatures:
    def extract(self, images, batch_size=64):
        return torch.zeros(images.shape[0], 1)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--results", default="results/image_demo_cpu")
    p.add_argument("--base-key", default="tinypix")
    p.add_argument("--style", default="stl06")
    p.add_argument("--steps", type=int, default=30, help="fine-tuning steps timed per precision")
    p.add_argument("--images", type=int, default=50, help="images generated per precision")
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    base = f"{a.results}/image/bases/{a.base_key}/pretrained"
    prompts = f"{a.results}/image/bases/{a.base_key}/prompts.safetensors"
    split = f"{a.results}/image/splits/{a.style}.json"
    device = torch.device("cpu")
    print(
        f"{base}; style {a.style}; {a.threads} threads; native bf16 on this CPU: {cpu_has_bf16()}"
        f" (torch capability {torch.backends.cpu.get_cpu_capability()})"
    )

    times = {}
    for mode in ("no", "bf16"):
        cfg = StyleFinetuneConfig(
            steps=a.steps, harvest_last=1, harvest_every=1, lr=1e-3, mixed_precision=mode
        )
        transformer, scheduler, data = prepare(base, prompts, split, cfg, device)
        t0 = time.perf_counter()
        train(transformer, scheduler, data, 4, 4, cfg, device)
        times[mode] = time.perf_counter() - t0
    print(
        f"LoRA fine-tuning, {a.steps} steps: fp32 {times['no']:.1f} s, bf16 autocast "
        f"{times['bf16']:.1f} s, fp32 / bf16 = {times['no'] / times['bf16']:.2f}x"
    )

    cache, split_file = PromptCache.load(prompts), load_split(split)
    for dtype in ("float32", "bfloat16"):
        cfg = replace(
            GenerationConfig(
                n_images=a.images, steps=20, guidance_scale=1.0, batch_size=a.images, resolution=32
            ),
            dtype=dtype,
        )
        pipe = load_pipeline(base, cfg)
        pipe.set_progress_bar_config(disable=True)
        generate_row(
            pipe,
            cache,
            split_file.prompts,
            replace(cfg, n_images=2, batch_size=2),
            _NoFeatures(),
            device,
        )
        t0 = time.perf_counter()
        generate_row(pipe, cache, split_file.prompts, cfg, _NoFeatures(), device)
        times[dtype] = time.perf_counter() - t0
    print(
        f"generation, {a.images} images x 20 steps: float32 {times['float32']:.1f} s, bfloat16 "
        f"{times['bfloat16']:.1f} s, float32 / bfloat16 = "
        f"{times['float32'] / times['bfloat16']:.2f}x"
    )


if __name__ == "__main__":
    main()
