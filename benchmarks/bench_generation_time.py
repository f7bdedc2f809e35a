"""Benchmark: time to generate candidates with each generator kind, side by side in one process.

Loads a trained Cond P-Diff generator (diffusion + autoencoder folders) and a trained direct
generator of the same generator folder (the demo's, by default), and times generating 1 and 20
candidates for one task with each: the diffusion model's reverse process (--sampler, e.g. ddim50)
plus the autoencoder's decoding, against one forward pass of the direct generator per condition
draw. Prints both, per candidate, and the ratio. Loading the models is not timed. Example (after the
text demo):

    python benchmarks/bench_generation_time.py --threads 1 \\
        --generator results/demo_cpu/generator/minilm/r1/n150/layers-all/norm-task --task sst2
"""

from __future__ import annotations

import argparse
import platform
import time
from pathlib import Path

import torch

from condpdiff.conditions.condition import load_condition
from condpdiff.generator.direct import sample_direct
from condpdiff.generator.direct.conditioning import ConditionBank, Recipe, condition_items
from condpdiff.generator.direct.network import load_direct
from condpdiff.generator.pdiff import sample_candidates
from condpdiff.generator.pdiff.autoencoder import load_autoencoder
from condpdiff.generator.pdiff.noise import load_diffusion
from condpdiff.params.norm_stats import NormStats

GEN = "results/demo_cpu/generator/minilm/r1/n150/layers-all/norm-task"


def timed(fn, repeats: int) -> float:
    fn()  # warm-up
    t0 = time.perf_counter()
    for _ in range(repeats):
        fn()
    return (time.perf_counter() - t0) / repeats


def main(argv=None) -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument(
        "--generator", default=GEN, help="generator folder GEN (stats.safetensors, pdiff/, direct/)"
    )
    p.add_argument(
        "--conditions",
        default=None,
        help="conditions folder (default: GEN's results folder/conditions)",
    )
    p.add_argument("--task", default="sst2")
    p.add_argument("--pdiff-condition", default="sentence-twoshot")
    p.add_argument("--sampler", default="ddim50")
    p.add_argument("--direct-condition", default="sentence-data")
    p.add_argument("--recipe", default="k8-layer-w0.75")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--repeats", type=int, default=3)
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    gen = Path(a.generator)
    conds = Path(a.conditions) if a.conditions else gen.parents[5] / "conditions"
    stats = NormStats.load(gen / "stats.safetensors")
    diffusion = load_diffusion(gen / f"pdiff/cond-{a.pdiff_condition}/diffusion")
    ae = load_autoencoder(gen / "pdiff/autoencoder")
    p_cond = load_condition(conds / a.pdiff_condition / f"{a.task}.safetensors").embedding
    direct = load_direct(gen / f"direct/cond-{a.direct_condition}/recipe-{a.recipe}/model")
    bank = ConditionBank(
        [condition_items(load_condition(conds / a.direct_condition / f"{a.task}.safetensors"))]
    )
    recipe = Recipe.parse(a.recipe)
    print(
        f"CPU: {platform.processor() or platform.machine()}, torch {torch.__version__}, threads "
        f"{a.threads}, cuda {torch.cuda.is_available()}; generator {gen}, task {a.task}, K' = "
        f"{int(stats.mask.sum())}"
    )
    print(
        f"{'candidates':>10} {'pdiff ' + a.sampler + ' (s)':>18} "
        f"{'direct ' + a.recipe + ' (s)':>26} {'ratio':>8}"
    )
    for n in (1, 20):
        s_cfg = sample_candidates.SamplingConfig(num_candidates=n, device="cpu", threads=a.threads)
        d_cfg = sample_direct.DirectSamplingConfig(
            num_candidates=n, device="cpu", threads=a.threads
        )
        t_p = timed(
            lambda s_cfg=s_cfg: sample_candidates.generate(diffusion, ae, p_cond, a.sampler, s_cfg),
            a.repeats,
        )
        t_d = timed(
            lambda d_cfg=d_cfg: sample_direct.generate(
                direct, bank, recipe.k, stats, a.task, d_cfg
            ),
            a.repeats,
        )
        print(f"{n:>10} {t_p:>18.4f} {t_d:>26.4f} {t_p / t_d:>7.0f}x")


if __name__ == "__main__":
    main()
