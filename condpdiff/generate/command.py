"""``condpdiff generate``: a generator folder + your condition -> a ready adapter folder, no
fine-tuning.

    condpdiff generate GENERATOR --examples EXAMPLES.tsv [--description TEXT] --out ADAPTER
    condpdiff generate GENERATOR --images STYLE_DIR --out ADAPTER

Text writes ``ADAPTER/adapter`` (a PEFT folder: ``PeftModel.from_pretrained`` loads it, head
included) and ``ADAPTER/selection.json``; images write ``ADAPTER/pytorch_lora_weights.safetensors``
(diffusers' LoRA format). ``ADAPTER/provenance.json`` names the generator (its digest), the
condition's digest, the seed and the options. Everything is written in a temporary folder beside
ADAPTER and moved into place at the end: bad input writes nothing.
"""

from __future__ import annotations

import argparse
import hashlib
import time
from pathlib import Path

import torch

from condpdiff.generate import folder as gf
from condpdiff.util.atomic import atomic_dir, write_json

PRECISIONS = ("no", "bf16", "fp16", "auto")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("generator", help="a generator folder (condpdiff.generate.export)")
    p.add_argument("--out", required=True, help="the adapter folder to write")
    p.add_argument("--images", default=None, help="folder of style images (image generators)")
    p.add_argument(
        "--examples",
        default=None,
        help="TSV of labelled examples in the GLUE layout (text generators)",
    )
    p.add_argument(
        "--description",
        default="",
        help="what the task is (text generators whose condition embeds one)",
    )
    p.add_argument(
        "--name",
        default=None,
        help="the task's name in its condition text (default: the TSV's stem)",
    )
    p.add_argument(
        "--task",
        default=None,
        help="a task the generator was trained on: its own condition and stats",
    )
    p.add_argument(
        "--num-labels", type=int, default=None, help="label set of the examples (1 = regression)"
    )
    p.add_argument(
        "--base", default=None, help="the base model (default: the one the folder names or holds)"
    )
    p.add_argument(
        "--num-candidates",
        type=int,
        default=8,
        help="candidates drawn; the best on the examples is kept",
    )
    p.add_argument(
        "--head-steps", type=int, default=100, help="steps fitting a text head on the examples"
    )
    p.add_argument(
        "--finetune-steps", type=int, default=0, help="a short fine-tune from the generated weights"
    )
    p.add_argument("--finetune-lr", type=float, default=1e-3)
    p.add_argument("--device", default="cpu")
    p.add_argument(
        "--precision",
        choices=PRECISIONS,
        default="no",
        help="autocast while sampling (no = float32)",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--threads",
        type=int,
        default=0,
        help="CPU threads (0 = torch's default; 1 is fastest for tiny models on a busy CPU)",
    )


def condition_digest(files: list[Path], text: str = "") -> str:
    """sha256 over the condition's files (name and bytes, in order) and its text."""
    h = hashlib.sha256()
    for f in files:
        h.update(f.name.encode() + b"\0" + Path(f).read_bytes() + b"\0")
    h.update(text.encode())
    return h.hexdigest()


def base_model(gen: gf.Generator, override: str | None) -> str:
    if override:
        return override
    return (
        str(gen.root / "base") if gen.config["base"].get("copied") else gen.config["base"]["model"]
    )


def check_options(a, domain: str) -> None:
    if a.num_candidates < 1:
        raise ValueError(f"--num-candidates {a.num_candidates}: expected at least 1")
    if domain == "image" and (a.examples or a.description):
        raise ValueError("an image generator takes --images, not --examples or --description")
    if domain == "image" and not a.images:
        raise ValueError("an image generator needs --images STYLE_DIR")
    if domain == "text" and a.images:
        raise ValueError("a text generator takes --examples (and --description), not --images")
    if domain == "image" and (a.num_candidates > 1 or a.finetune_steps):
        raise ValueError(
            "image generators: selection among candidates (FID of generated images) and "
            "--finetune-steps are not supported by this command yet; use --num-candidates 1"
        )


def sample(gen: gf.Generator, cond: torch.Tensor, row: str, a) -> torch.Tensor:
    from condpdiff.util.precision import autocast_dtype

    dtype = autocast_dtype(a.precision, torch.device(a.device))
    with torch.autocast(torch.device(a.device).type, dtype=dtype, enabled=dtype is not None):
        return gen.sample(cond, row, a.num_candidates, a.seed, a.device).float()


def run(a) -> dict:
    """Load, generate, select and write; returns the provenance (with the seconds each part
    took)."""
    if a.threads:
        torch.set_num_threads(a.threads)
    t0 = time.perf_counter()
    gen = gf.load(a.generator, a.device)
    t_load = time.perf_counter() - t0
    domain = gen.config["domain"]
    check_options(a, domain)
    row = gen.row_for(a.task)
    base = base_model(gen, a.base)
    options = {k: v for k, v in vars(a).items() if k not in ("generator", "out", "func")}
    info = {
        "generator": str(a.generator),
        "generator_digest": gen.digest,
        "kind": gen.kind,
        "draw": gen.config["draw"],
        "base": base,
        "stats_row": row,
        "seed": a.seed,
        "options": options,
    }
    out = Path(a.out)
    with atomic_dir(out) as tmp:
        if domain == "text":
            from condpdiff.generate import text

            task = (
                text.make_task(
                    gen.config,
                    a.examples,
                    a.num_labels,
                    a.name or Path(a.examples).stem,
                    a.description,
                )
                if a.examples
                else None
            )
            if task is None:
                if a.task is None:
                    raise ValueError(
                        "a text generator needs --examples FILE (or --task NAME of a training task)"
                    )
                nl = next(t["num_labels"] for t in gen.config["tasks"] if t["name"] == a.task)
                from condpdiff.text.tasks import Task

                task = Task(
                    name=a.task, num_labels=nl, metric="accuracy", description=a.description
                )
            examples = text.read_examples(a.examples, task) if a.examples else None
            files = [Path(a.examples)] if a.examples else []
            t1 = time.perf_counter()
            cond = text.condition(gen, task, examples, a.task, a.device)
            vectors = sample(gen, cond, row, a)
            t_gen = time.perf_counter() - t1
            info["condition"] = {
                "examples": a.examples,
                "description": a.description,
                "task": a.task,
                "digest": condition_digest(files, a.description + (a.task or "")),
            }
            text.generate_adapter(gen, vectors, task, examples, base, tmp / "peft", a, info, a.task)
            for child in (tmp / "peft").iterdir():
                child.rename(tmp / child.name)
            (tmp / "peft").rmdir()
        else:
            from condpdiff.generate import images

            files = images.image_files(a.images, images.min_images(gen.config))
            transformer = images.lora_transformer(base, gen.config)
            t1 = time.perf_counter()
            cond = images.condition(gen.config, files, a.device)
            vectors = sample(gen, cond, row, a)
            t_gen = time.perf_counter() - t1
            info["condition"] = {
                "images": str(a.images),
                "files": [f.name for f in files],
                "digest": condition_digest(files),
            }
            images.write_adapter(transformer, vectors[0], gen.layout, tmp, gen.config)
        info["seconds"] = {
            "load": round(t_load, 4),
            "generate": round(t_gen, 4),
            "total": round(time.perf_counter() - t0, 4),
        }
        write_json(tmp / "provenance.json", info)
    return info


def main(a) -> int:
    info = run(a)
    s = info["seconds"]
    print(
        f"wrote {a.out}: loading {s['load']:.3f} s, generating {s['generate']:.3f} s (selection "
        f"and writing {s['total'] - s['load'] - s['generate']:.3f} s), total {s['total']:.3f} s"
    )
    return 0
