"""Benchmark: fp32 vs bf16 autocast on this CPU, side by side in one process (MiniLM by default).

Times a forward pass of a 128 x 48 batch and a LoRA training step of a 32 x 48 batch, each in
fp32 and under ``torch.autocast("cpu", dtype=torch.bfloat16)``, and prints both, the ratio and
whether this CPU runs bf16 natively (``condpdiff.util.precision.cpu_has_bf16``: only then does
``mixed_precision: auto`` pick bf16). Example:

    python benchmarks/bench_bf16_cpu.py --threads 2
"""

from __future__ import annotations

import argparse
import time

import local_inputs
import torch

from condpdiff.text import backbone as bb
from condpdiff.util.precision import cpu_has_bf16


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
    p.add_argument("--model", default=str(local_inputs.MODEL))
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeats", type=int, default=5)
    a = p.parse_args(argv)
    local_inputs.check(p, a)
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    model = bb.wrap_lora(
        bb.load_base_model(a.model, 2), 1, 8, ["query", "key", "value", "attention.output.dense"]
    )
    vocab = model.config.vocab_size
    fwd = {
        "input_ids": torch.randint(1000, vocab, (128, 48)),
        "attention_mask": torch.ones(128, 48, dtype=torch.long),
    }
    trn = {
        "input_ids": torch.randint(1000, vocab, (32, 48)),
        "attention_mask": torch.ones(32, 48, dtype=torch.long),
    }
    labels = torch.randint(0, 2, (32,))
    optim = torch.optim.AdamW([q for q in model.parameters() if q.requires_grad], lr=1e-4)

    def forward(bf16: bool):
        model.eval()
        with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            model(**fwd)

    def step(bf16: bool):
        model.train()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            loss = model(**trn, labels=labels).loss
        optim.zero_grad()
        loss.backward()
        optim.step()

    print(
        f"{a.model}; {a.threads} threads; native bf16 on this CPU: {cpu_has_bf16()}"
        f" (torch capability {torch.backends.cpu.get_cpu_capability()})"
    )
    for name, fn in (("forward 128 x 48", forward), ("training step 32 x 48", step)):
        fp32, bf16 = (
            timed(lambda fn=fn: fn(False), a.repeats),
            timed(lambda fn=fn: fn(True), a.repeats),
        )
        print(
            f"{name}: fp32 {fp32 * 1000:.0f} ms, bf16 {bf16 * 1000:.0f} ms, fp32 / bf16 = "
            f"{fp32 / bf16:.2f}x"
        )


if __name__ == "__main__":
    main()
