"""Benchmark: ``condpdiff generate`` (load + generate) against fine-tuning the same adapter.

For each exported generator folder given, runs the generate command once (a warm-up run first, so
library imports are not counted) and prints its load time, generation time (condition + sampling)
and total (with selection and writing), then the wall time of fine-tuning the same adapter and the
ratio fine-tune / total. The fine-tune time is either measured here (text: the project's
``text.finetune_lora.finetune`` from scratch on the same examples, same rank, alpha and targets,
``--finetune-epochs`` epochs, on ``--finetune-examples``) or read from the workflow's own benchmark
file of that fine-tune (``--finetune-benchmark R/benchmarks/finetune_lora/<tag>.tsv``: Snakemake's
``s`` column; the only way for images). Example after the smoke workflow's exports:

    python benchmarks/bench_generate.py --threads 1 \\
        --examples results/h8-smoke/data/glue/topic_match/train.tsv --num-labels 2 \\
        --generator R/generator/tiny/r1/n20/layers-all/norm-task/pdiff/cond-onehot/ddim20/export \\
        --task syn_topic
"""

from __future__ import annotations

import argparse
import csv
import platform
import tempfile
import time
from pathlib import Path

import torch

from condpdiff.cli import parser as cli_parser
from condpdiff.generate import command
from condpdiff.generate import folder as gf


def generate_args(folder: str, out: Path, a) -> argparse.Namespace:
    argv = [
        "generate",
        folder,
        "--out",
        str(out),
        "--num-candidates",
        str(a.num_candidates),
        "--seed",
        "0",
        "--threads",
        str(a.threads),
    ]
    if a.images:
        argv += ["--images", a.images]
    if a.examples:
        argv += ["--examples", a.examples, "--head-steps", str(a.head_steps)]
    for flag, value in (
        ("--num-labels", a.num_labels),
        ("--task", a.task),
        ("--description", a.description),
    ):
        if value:
            argv += [flag, str(value)]
    return cli_parser().parse_args(argv)


def recorded_seconds(path: str) -> float:
    with open(path, newline="") as f:
        return float(next(csv.DictReader(f, delimiter="\t"))["s"])


def finetune_seconds(folder: str, a) -> float:
    """Wall time of fine-tuning the adapter from scratch on the same examples (text)."""
    from condpdiff.generate import text
    from condpdiff.text.finetune_lora import FinetuneConfig, finetune

    gen = gf.load(folder)
    source = a.finetune_examples or a.examples
    task = text.make_task(gen.config, source, a.num_labels, "bench", a.description or "")
    examples = text.read_examples(source, task)
    lora = gen.config["lora"]
    cfg = FinetuneConfig(
        epochs=a.finetune_epochs,
        lr=1e-3,
        batch_size=16,
        max_length=128,
        harvest_last=1,
        seed=0,
        mixed_precision="no",
    )
    base = command.base_model(gen, None)
    t0 = time.perf_counter()
    finetune(
        base,
        task,
        examples,
        None,
        lora["rank"],
        lora["alpha"],
        lora["target_modules"],
        cfg,
        torch.device("cpu"),
    )
    return time.perf_counter() - t0


def main(argv=None) -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--generator", nargs="+", required=True, help="exported generator folders")
    p.add_argument("--examples", default=None)
    p.add_argument("--images", default=None)
    p.add_argument("--num-labels", type=int, default=None)
    p.add_argument("--task", default=None)
    p.add_argument("--description", default=None)
    p.add_argument("--num-candidates", type=int, default=1)
    p.add_argument("--head-steps", type=int, default=100)
    p.add_argument("--finetune-epochs", type=int, default=8)
    p.add_argument(
        "--finetune-examples",
        default=None,
        help=(
            "the TSV the fine-tune trains on (default --examples; the task's train split is fairer)"
        ),
    )
    p.add_argument(
        "--finetune-benchmark", default=None, help="the workflow's benchmark .tsv of the fine-tune"
    )
    p.add_argument("--threads", type=int, default=0)
    a = p.parse_args(argv)
    if a.threads:
        torch.set_num_threads(a.threads)
    print(
        f"# {platform.processor() or platform.machine()}, torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads"
    )
    print("| generator | load s | generate s | total s | fine-tune s | fine-tune / total |")
    print("|---|---:|---:|---:|---:|---:|")
    for folder in a.generator:
        with tempfile.TemporaryDirectory() as tmp:
            command.run(generate_args(folder, Path(tmp) / "warm", a))  # imports and caches
            s = command.run(generate_args(folder, Path(tmp) / "adapter", a))["seconds"]
        ft = (
            recorded_seconds(a.finetune_benchmark)
            if a.finetune_benchmark
            else finetune_seconds(folder, a)
        )
        cfg = gf.read_config(folder)
        print(
            f"| {cfg['kind']} {cfg['draw']} ({cfg['domain']}) | {s['load']:.3f} | "
            f"{s['generate']:.3f} | {s['total']:.3f} | {ft:.2f} | {ft / s['total']:.1f} |"
        )


if __name__ == "__main__":
    main()
