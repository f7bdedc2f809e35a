"""The same inputs give the same bytes, across processes: candidates sampled twice by two separate
``python -m`` runs, and ``save_safetensors`` of the same tensors and metadata in two processes.

safetensors writes its metadata map in a random order per process (a Rust HashMap), so this holds
only because ``util.atomic.save_safetensors`` packs the metadata into one sorted JSON string; each
subprocess runs with its own random hash seed (PYTHONHASHSEED unset) as Snakemake's jobs do.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[2]

SAVE = """
import sys, torch
from condpdiff.util.atomic import save_safetensors
g = torch.Generator().manual_seed(0)
tensors = {f"t{i}": torch.randn(3, i + 1, generator=g) for i in range(12)}
tensors["steps"] = torch.arange(5)
metadata = {f"key{i}": f"value {i}" for i in range(30)}
save_safetensors(sys.argv[1], tensors, metadata)
"""


def run(*args: str) -> None:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONHASHSEED"}
    env["OMP_NUM_THREADS"] = "1"
    done = subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]


def test_metadata_is_one_sorted_json_string(tmp_path):
    """In one process: metadata given in another order gives the same bytes,
    stored under one key."""
    import json

    from safetensors import safe_open

    from condpdiff.util.atomic import METADATA_KEY, save_safetensors

    tensors = {"b": torch.ones(2, 3), "a": torch.arange(4)}
    meta = {f"key{i}": str(i) for i in range(20)}
    save_safetensors(tmp_path / "x.safetensors", tensors, meta)
    save_safetensors(
        tmp_path / "y.safetensors", dict(reversed(tensors.items())), dict(reversed(meta.items()))
    )
    assert (tmp_path / "x.safetensors").read_bytes() == (tmp_path / "y.safetensors").read_bytes()
    with safe_open(str(tmp_path / "x.safetensors"), framework="pt") as f:
        raw = f.metadata()
    assert list(raw) == [METADATA_KEY] and raw[METADATA_KEY] == json.dumps(meta, sort_keys=True)


@pytest.mark.slow  # two Python processes that import torch: about 5 s on 2 shared cores
def test_save_safetensors_gives_the_same_bytes_in_two_processes(tmp_path):
    out = tmp_path / "x.safetensors"
    run("-c", SAVE, str(out))
    first = out.read_bytes()
    run("-c", SAVE, str(out))
    assert out.read_bytes() == first
    from condpdiff.pipeline.artifacts import open_safetensors

    with open_safetensors(out, "test file") as (f, meta):
        assert meta == {f"key{i}": f"value {i}" for i in range(30)} and len(f.keys()) == 13
    assert list(tmp_path.iterdir()) == [out]  # no temp file left


# trains two tiny models and starts two Python processes that import torch and diffusers
@pytest.mark.slow
def test_sample_candidates_twice_in_two_processes_gives_the_same_bytes(tmp_path):
    from condpdiff.conditions.condition import Condition
    from condpdiff.generator.pdiff import train_autoencoder, train_diffusion
    from condpdiff.params.norm_stats import compute
    from condpdiff.params.paramfile import ParamSet

    torch.set_num_threads(1)
    tasks = ["sst2", "rte"]
    layout = [
        (f"m.layer.{i}.q.lora_{ab}.weight", s)
        for i in range(2)
        for ab, s in (("A", (2, 40)), ("B", (40, 2)))
    ]
    g = torch.Generator().manual_seed(0)
    harvests, sets, conds = [], {}, []
    for i, task in enumerate(tasks):
        sets[task] = ParamSet(
            (1.0 if i else -1.0) + 0.1 * torch.randn(8, 320, generator=g),
            layout,
            torch.arange(8),
            torch.rand(8, generator=g),
            {"classifier.weight": torch.randn(8, 2, 4, generator=g)},
            {"backbone": "tiny", "rank": 2, "task": task, "kind": "checkpoints"},
        )
        harvests.append(str(tmp_path / f"{task}.harvest.safetensors"))
        sets[task].save(harvests[-1])
        conds.append(str(tmp_path / f"{task}.cond.safetensors"))
        Condition("onehot", torch.eye(2)[i], task, "onehot:2", " ".join(tasks), "mlp").save(
            conds[-1]
        )
    stats = str(tmp_path / "stats.safetensors")
    compute(sets, "task", 8, "0-0").save(stats)  # layer 1 comes from the last checkpoint
    ae, diff = tmp_path / "autoencoder", tmp_path / "diffusion"
    fast = ["--threads", "1", "--device", "cpu", "--steps", "20"]
    train_autoencoder.main(
        [
            "--stats",
            stats,
            "--harvests",
            *harvests,
            "--tasks",
            *tasks,
            "--out-dir",
            str(ae),
            "--report",
            str(tmp_path / "report.json"),
            "--channels",
            "4",
            "8",
            "--latent-length",
            "8",
            *fast,
        ]
    )
    train_diffusion.main(
        [
            "--autoencoder",
            str(ae),
            "--stats",
            stats,
            "--harvests",
            *harvests,
            "--tasks",
            *tasks,
            "--conditions",
            *conds,
            "--out-dir",
            str(diff),
            "--channels",
            "8",
            "16",
            "--emb-dim",
            "16",
            "--bottom-hidden",
            "16",
            *fast,
        ]
    )

    out = tmp_path / "candidates" / "rte.safetensors"
    args = ["-m", "condpdiff.generator.pdiff.sample_candidates", "--diffusion", str(diff),
            "--autoencoder", str(ae),
            "--stats", stats, "--harvest", harvests[1], "--condition", conds[1], "--task", "rte",
            "--sampler", "ddim10", "--num-candidates", "6", "--seed", "3", "--threads", "1",
            "--device", "cpu", "--out", str(out)]  # fmt: skip
    run(*args)
    first = out.read_bytes()
    run(*args)
    second = out.read_bytes()
    assert second == first
    cands = ParamSet.load(out)
    assert (
        cands.n == 6
        and torch.isfinite(cands.params).all()
        and not torch.equal(cands.params[0], cands.params[1])
    )
    assert not {"seconds", "sample_seconds", "time"} & set(
        cands.info
    )  # nothing that changes from run to run
    assert [p.name for p in out.parent.iterdir()] == ["rte.safetensors"]
