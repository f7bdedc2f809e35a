"""Benchmark: scoring N LoRA candidates on SST-2 dev, cached (condpdiff.text.score.Scorer) vs naive.

- cached: the base model + tokenizer loaded once, LoRA wrapped once, dev tokenised and padded once;
  per candidate only ``backbone.load_weights`` (in place) + the forward passes;
- naive:  per candidate, from disk: ``AutoModelForSequenceClassification.from_pretrained`` +
  ``PeftModel.from_pretrained(adapter folder)`` + ``merge_and_unload`` + evaluate (the tokenised
  dev set is shared, so the naive side is not charged for tokenising).

Candidates are random perturbations of a LoRA init (lora_B is zero at init, so both A and B
and the head are perturbed). Prints time per candidate, the ratio, and whether every
candidate's scores are identical. Example:

    python benchmarks/bench_scoring.py --num-candidates 4            # CPU here
    python benchmarks/bench_scoring.py --device cuda                  # 20 candidates on a GPU
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import local_inputs
import torch

from condpdiff.params.paramfile import ParamSet, flatten, layout_of
from condpdiff.text import backbone as bb
from condpdiff.text import data
from condpdiff.text import inference as evaluation
from condpdiff.text.score import Scorer, ScoringConfig
from condpdiff.text.tasks import get_task

TARGETS = ["query", "key", "value", "attention.output.dense"]


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def make_candidates(model_path, num_labels, rank, alpha, n, sigma, seed) -> ParamSet:
    model = bb.wrap_lora(bb.load_base_model(model_path, num_labels), rank, alpha, TARGETS)
    lora, head = bb.split_state_dict(model)
    layout = layout_of(lora)
    g = torch.Generator().manual_seed(seed)
    base = flatten(lora, layout)
    params = base + sigma * torch.randn(n, base.numel(), generator=g)
    heads = {k: v.float() + sigma * torch.randn(n, *v.shape, generator=g) for k, v in head.items()}
    return ParamSet(
        params, layout, torch.arange(n), torch.full((n,), float("nan")), heads, {"kind": "bench"}
    )


def write_adapters(model_path, num_labels, rank, alpha, pset: ParamSet, root: Path) -> list[Path]:
    """The naive world's storage: one standard PEFT adapter folder per candidate (not timed)."""
    model = bb.wrap_lora(
        bb.load_base_model(model_path, num_labels), rank, alpha, TARGETS, dropout=0.0
    )
    dirs = []
    for i in range(pset.n):
        bb.load_weights(model, pset.lora_state_dict(i), pset.head_state_dict(i))
        d = root / f"cand{i}"
        model.save_pretrained(d)
        dirs.append(d)
    return dirs


def main(argv=None) -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--model", default=str(local_inputs.MODEL))
    p.add_argument("--glue-dir", default=str(local_inputs.GLUE))
    p.add_argument("--task", default="sst2")
    p.add_argument("--num-candidates", type=int, default=20)
    p.add_argument("--rank", type=int, default=1)
    p.add_argument("--alpha", type=int, default=8)
    p.add_argument("--sigma", type=float, default=0.05, help="std of the random perturbation")
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--max-length", type=int, default=128)
    p.add_argument("--device", default="auto", help="auto | cpu | cuda")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    p.add_argument("--skip-naive", action="store_true")
    p.add_argument("--json", default=None, help="also write the figures to this JSON file")
    a = p.parse_args(argv)
    local_inputs.check(p, a)
    if a.threads:
        torch.set_num_threads(a.threads)
    device = torch.device(
        ("cuda" if torch.cuda.is_available() else "cpu") if a.device == "auto" else a.device
    )
    task = get_task(a.task)
    dev = data.load_split(task, "dev", "local", a.glue_dir)
    cfg = ScoringConfig(batch_size=a.batch_size, max_length=a.max_length)
    pset = make_candidates(
        a.model, task.num_labels, a.rank, a.alpha, a.num_candidates, a.sigma, seed=0
    )
    name = (
        torch.cuda.get_device_name(device)
        if device.type == "cuda"
        else f"cpu ({torch.get_num_threads()} threads)"
    )
    print(
        f"device {name}; {task.name} dev {len(dev)} examples; {pset.n} candidates; K={pset.k}; "
        f"model {a.model}"
    )

    sync(device)
    t0 = time.perf_counter()
    scorer = Scorer(a.model, task, a.rank, a.alpha, TARGETS, {"dev": dev}, cfg, device)
    sync(device)
    setup = time.perf_counter() - t0
    # one warm-up candidate (kernels, allocator) so per-candidate times are steady-state,
    # for both sides
    scorer.score(pset.lora_state_dict(0), pset.head_state_dict(0))
    sync(device)
    t0 = time.perf_counter()
    cached = [
        scorer.score(pset.lora_state_dict(i), pset.head_state_dict(i))["dev"] for i in range(pset.n)
    ]
    sync(device)
    cached_total = time.perf_counter() - t0
    per_cached = cached_total / pset.n
    print(
        f"cached: setup (load+wrap+tokenise+pad once) {setup:.2f}s; {per_cached:.3f}s per candidate"
    )
    result = {"device": name, "n_dev": len(dev), "candidates": pset.n, "cached_setup_s": setup,
              "cached_per_candidate_s": per_cached,
              "cached_scores": [m["score"] for m in cached]}  # fmt: skip

    if not a.skip_naive:
        tokenizer = scorer.tokenizer
        enc = scorer.encoded["dev"]
        from peft import PeftModel

        with tempfile.TemporaryDirectory() as tmp:
            dirs = write_adapters(a.model, task.num_labels, a.rank, a.alpha, pset, Path(tmp))
            naive, times = [], []
            for i, d in enumerate([dirs[0], *dirs]):  # first = warm-up, not counted
                sync(device)
                t0 = time.perf_counter()
                base = bb.load_base_model(a.model, task.num_labels)
                model = PeftModel.from_pretrained(base, d).merge_and_unload().to(device).eval()
                m = evaluation.evaluate(model, tokenizer, enc, task, a.batch_size)
                sync(device)
                if i > 0:
                    times.append(time.perf_counter() - t0)
                    naive.append(m)
                del model, base
        per_naive = sum(times) / len(times)
        diffs = [abs(x["score"] - y["score"]) for x, y in zip(cached, naive)]
        identical = sum(x == y for x, y in zip(cached, naive))
        print(
            f"naive:  {per_naive:.3f}s per candidate (from_pretrained + PeftModel + "
            "merge_and_unload + evaluate)"
        )
        print(f"speed-up per candidate: {per_naive / per_cached:.1f}x")
        print(
            f"speed-up for all {pset.n} incl. cached setup: "
            f"{per_naive * pset.n / (setup + cached_total):.1f}x"
        )
        print(
            f"scores identical for {identical}/{pset.n} candidates; max |diff| {max(diffs):.6f} "
            "(x100 points)"
        )
        print("dev accuracy (cached):", [round(m["score"], 2) for m in cached])
        result.update(naive_per_candidate_s=per_naive, speedup=per_naive / per_cached,
                      speedup_with_setup=per_naive * pset.n / (setup + cached_total),
                      identical=identical, max_abs_diff=max(diffs),
                      naive_scores=[m["score"] for m in naive])  # fmt: skip
    if a.json:
        Path(a.json).write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
