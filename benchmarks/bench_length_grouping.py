"""Benchmark: fine-tuning steps in a random order vs length-grouped order
(finetune.group_by_length).

For each task, tokenises the capped training split as ``finetune_lora`` does and prints, for one
epoch, the padded tokens per epoch in both orders (exact, no model run), then times the first
`--steps` LoRA training steps of each order side by side in one process, and prints both and
the ratio. MiniLM on the local GLUE copy by default. Example:

    python benchmarks/bench_length_grouping.py --tasks rte sst2 --steps 20 --threads 2
"""

from __future__ import annotations

import argparse
import time

import local_inputs
import torch

from condpdiff.text import backbone as bb
from condpdiff.text import data, inference
from condpdiff.text.finetune_lora import FinetuneConfig, epoch_order, param_groups
from condpdiff.text.tasks import get_task


def padded_tokens(enc, order: list[int], batch_size: int) -> int:
    lengths = [len(enc.features[i]["input_ids"]) for i in order]
    return sum(
        max(lengths[s : s + batch_size]) * len(lengths[s : s + batch_size])
        for s in range(0, len(lengths), batch_size)
    )


def main(argv=None) -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--model", default=str(local_inputs.MODEL))
    p.add_argument("--glue-dir", default=str(local_inputs.GLUE))
    p.add_argument("--tasks", nargs="+", default=["sst2", "rte", "mrpc", "cola", "stsb"])
    p.add_argument("--max-train-examples", type=int, default=2000)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument(
        "--steps", type=int, default=20, help="training steps timed per order (0: padding only)"
    )
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args(argv)
    local_inputs.check(p, a)
    torch.set_num_threads(a.threads)
    tokenizer = bb.load_tokenizer(a.model)
    print(
        f"{a.model}; {a.threads} threads; batch {a.batch_size}; first {a.steps} steps of epoch 1 "
        "timed"
    )
    for name in a.tasks:
        task = get_task(name)
        train = data.cap(
            data.load_split(task, "train", "local", a.glue_dir), a.max_train_examples, 42
        )
        enc = inference.encode(tokenizer, train, 128, sort_by_length=False)
        times, tokens = {}, {}
        for grouped in (False, True):
            cfg = FinetuneConfig(
                batch_size=a.batch_size, group_by_length=grouped, mixed_precision="no", lr=5e-4
            )
            order = epoch_order(enc, cfg, torch.Generator().manual_seed(42))
            tokens[grouped] = padded_tokens(enc, order, a.batch_size)
            if not a.steps:
                continue
            torch.manual_seed(0)
            model = bb.wrap_lora(
                bb.load_base_model(a.model, task.num_labels),
                1,
                8,
                ["query", "key", "value", "attention.output.dense"],
            )
            optim = torch.optim.AdamW(param_groups(model, cfg), lr=cfg.lr)
            model.train()
            t0 = time.perf_counter()
            for s in range(0, a.steps * a.batch_size, a.batch_size):
                idx = order[s : s + a.batch_size]
                batch = tokenizer.pad([enc.features[i] for i in idx], return_tensors="pt")
                labels = torch.tensor([train.labels[i] for i in idx])
                labels = labels.float() if task.is_regression else labels.long()
                loss = model(**batch, labels=labels).loss
                optim.zero_grad()
                loss.backward()
                optim.step()
            times[grouped] = time.perf_counter() - t0
        line = (
            f"{name}: padded tokens per epoch random {tokens[False]:,} vs grouped {tokens[True]:,}"
            f" (ratio {tokens[False] / tokens[True]:.2f}x)"
        )
        if times:
            line += (
                f"; {a.steps} steps random {times[False]:.1f} s vs grouped {times[True]:.1f} s"
                f" (ratio {times[False] / times[True]:.2f}x)"
            )
        print(line, flush=True)


if __name__ == "__main__":
    main()
