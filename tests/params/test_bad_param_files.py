"""Bad parameter and stats files: each error names the file, what was expected and how to rebuild
it, and the step that read it writes nothing."""

from __future__ import annotations

import json
import re

import pytest
import torch

from condpdiff.params import compute_norm_stats
from condpdiff.params.norm_stats import NormStats, compute
from condpdiff.params.paramfile import FORMAT, ParamSet, require_same_layout
from condpdiff.pipeline.artifacts import ArtifactError
from condpdiff.util.atomic import save_safetensors

# two layers of rank-2 LoRA on a 40-wide query: K = 4 x 80 = 320
LAYOUT = [
    (f"m.layer.{i}.q.lora_{ab}.weight", shape)
    for i in range(2)
    for ab, shape in (("A", (2, 40)), ("B", (40, 2)))
]
K = 320
INFO = {"backbone": "tiny", "rank": 2, "kind": "checkpoints"}


def harvest(task: str, n: int = 6, seed: int = 0, layout=LAYOUT) -> ParamSet:
    g = torch.Generator().manual_seed(seed)
    k = sum(a * b for _, (a, b) in layout)
    return ParamSet(
        torch.randn(n, k, generator=g),
        layout,
        torch.arange(100, 100 + n),
        torch.rand(n, generator=g),
        {"classifier.weight": torch.randn(n, 2, 4, generator=g)},
        {**INFO, "task": task},
    )


def harvest_path(root, task: str):
    """Where the workflow keeps a harvest (so the rebuild hint names its rule)."""
    return root / "finetune" / "tiny_r2" / task / "harvest.safetensors"


def norm_stats_cli(tmp_path, paths, out):
    compute_norm_stats.main(
        [
            "--harvests",
            *map(str, paths),
            "--tasks",
            "sst2",
            "rte",
            "--mode",
            "task",
            "--n",
            "4",
            "--out",
            str(out),
        ]
    )


def test_truncated_harvest(tmp_path, assert_not_written):
    paths = [harvest_path(tmp_path, t) for t in ("sst2", "rte")]
    for i, (task, path) in enumerate(zip(("sst2", "rte"), paths)):
        path.parent.mkdir(parents=True)
        harvest(task, seed=i).save(path)
    assert paths[1].stat().st_size > 3000
    paths[1].write_bytes(paths[1].read_bytes()[:3000])  # a copy cut short
    out = tmp_path / "stats" / "tiny_r2" / "stats.safetensors"
    with pytest.raises(ArtifactError) as e:
        norm_stats_cli(tmp_path, paths, out)
    msg = str(e.value)
    print(msg)
    assert msg.startswith(f"{paths[1]}: unreadable parameter file (truncated")
    assert f"To rebuild: run `snakemake {paths[1]} --force --cores all --configfile" in msg
    assert "reruns rule finetune_lora (images: finetune_style_lora) for this file" in msg
    assert_not_written(out)


def test_non_finite_params(tmp_path, assert_not_written):
    paths = [harvest_path(tmp_path, t) for t in ("sst2", "rte")]
    for i, (task, path) in enumerate(zip(("sst2", "rte"), paths)):
        path.parent.mkdir(parents=True)
        bad = harvest(task, seed=i)
        if i == 0:
            bad.params[3, 17] = float("nan")
        bad.save(path)
    out = tmp_path / "stats.safetensors"
    with pytest.raises(ArtifactError) as e:
        norm_stats_cli(tmp_path, paths, out)
    msg = str(e.value)
    print(msg)
    assert msg.startswith(
        f"{paths[0]}: params holds 1 non-finite values; expected finite values; found nan at index "
        "(3, 17)"
    )
    assert "reruns rule finetune_lora" in msg
    assert_not_written(out)


def test_non_finite_head(tmp_path):
    bad = harvest("sst2")
    bad.heads["classifier.weight"][0, 1, 2] = float("inf")
    bad.save(tmp_path / "h.safetensors")
    with pytest.raises(
        ArtifactError,
        match=re.escape(f"{tmp_path / 'h.safetensors'}: head/classifier.weight holds 1 non-finite"),
    ):
        ParamSet.load(tmp_path / "h.safetensors")


def test_missing_harvest(tmp_path, assert_not_written):
    paths = [harvest_path(tmp_path, t) for t in ("sst2", "rte")]
    paths[0].parent.mkdir(parents=True)
    harvest("sst2").save(paths[0])
    out = tmp_path / "stats.safetensors"
    with pytest.raises(FileNotFoundError) as e:
        norm_stats_cli(tmp_path, paths, out)
    msg = str(e.value)
    print(msg)
    assert msg.startswith(
        f"{paths[1]}: parameter file not found. To rebuild: run `snakemake {paths[1]} --force"
    )
    assert "reruns rule finetune_lora" in msg
    assert_not_written(out)


def test_candidates_of_the_wrong_length_for_their_layout(tmp_path):
    path = tmp_path / "candidates" / "tiny_r2" / "sst2.safetensors"
    info = {**INFO, "kind": "candidates", "task": "sst2"}
    metadata = {
        "format": FORMAT,
        "layout": json.dumps([[n, list(s)] for n, s in LAYOUT]),
        "head_layout": "[]",
        "info": json.dumps(info),
    }
    save_safetensors(
        path,
        {
            "params": torch.zeros(5, K - 20),
            "steps": torch.arange(5),
            "loss": torch.full((5,), float("nan")),
        },
        metadata,
    )
    with pytest.raises(ArtifactError) as e:
        ParamSet.load(path)
    msg = str(e.value)
    print(msg)
    assert msg.startswith(f"{path}: parameter rows do not match the file's LoRA layout")
    assert "backbone tiny, rank 2, task sst2" in msg
    assert (
        f"expected [N, K] with K = {K} (the layout's 4 tensors)" in msg
        and "found params of shape [5, 300]" in msg
    )
    assert "reruns rule sample_candidates" in msg


def test_harvest_and_candidates_of_different_layouts(tmp_path):
    rank4 = [(n, (4, s[1]) if "lora_A" in n else (s[0], 4)) for n, s in LAYOUT]
    cands_path, harvest_path_ = (
        tmp_path / "candidates.safetensors",
        tmp_path / "harvest.safetensors",
    )
    cands, hv = harvest("sst2", layout=rank4), harvest("sst2")
    cands.info["rank"] = 4
    with pytest.raises(ArtifactError) as e:
        require_same_layout(cands, cands_path, hv, harvest_path_)
    msg = str(e.value)
    print(msg)
    assert msg.startswith(
        f"{cands_path}: LoRA layout differs from {harvest_path_} (backbone tiny, rank 2, task sst2"
    )
    assert (
        f"expected K = {K} in 4 tensors" in msg
        and f"found K = {2 * K} in 4 tensors" in msg
        and "rank 4" in msg
    )


def test_scoring_candidates_against_a_harvest_of_another_layout(tmp_path, assert_not_written):
    """text.score checks the harvest it takes the head from before it loads a model or data."""
    from condpdiff.text import score
    from condpdiff.text.tasks import GLUE_TASKS, task_to_dict
    from condpdiff.util.atomic import write_json

    write_json(tmp_path / "sst2.json", task_to_dict(GLUE_TASKS["sst2"]))
    rank4 = [(n, (4, s[1]) if "lora_A" in n else (s[0], 4)) for n, s in LAYOUT]
    cands, hv = tmp_path / "candidates.safetensors", harvest_path(tmp_path, "sst2")
    rank4_cands = harvest("sst2", layout=rank4)
    rank4_cands.info.update(rank=4, kind="candidates")
    rank4_cands.save(cands)
    harvest("sst2").save(hv)
    out = tmp_path / "scores" / "candidate_scores.json"
    args = [
        "--model",
        "no-model-is-loaded",
        "--task-file",
        str(tmp_path / "sst2.json"),
        "--data-source",
        "local",
        "--rank",
        "4",
        "--alpha",
        "8",
        "--target-modules",
        "query",
        "--params",
        str(cands),
        "--head",
        "last_checkpoint",
        "--harvest",
        str(hv),
        "--out",
        str(out),
    ]
    with pytest.raises(ArtifactError) as e:  # the harvest records rank 2: refused by its provenance
        score.main(args)
    msg = str(e.value)
    print(msg)
    assert msg.startswith(
        f"{hv}: parameter file made for another rank; expected rank 4 (what "
        "condpdiff.text.score (--harvest) expects); found rank 2 (the file records "
        "kind checkpoints, task sst2, backbone tiny, rank 2)"
    )
    unrecorded = harvest("sst2")
    del unrecorded.info["rank"]  # a file that does not record its rank: its layout still has to fit
    unrecorded.save(hv)
    with pytest.raises(ArtifactError) as e:
        score.main(args)
    msg = str(e.value)
    print(msg)
    assert msg.startswith(
        f"{cands}: LoRA layout differs from {hv} (backbone tiny, task sst2, kind checkpoints)"
    )
    assert (
        f"found K = {2 * K} in 4 tensors like m.layer.0.q.lora_A.weight (backbone tiny, rank 4, "
        "task sst2, kind candidates)" in msg
    )
    assert_not_written(out)


def test_stats_whose_mean_has_the_wrong_shape(tmp_path):
    good = compute({"sst2": harvest("sst2"), "rte": harvest("rte", seed=1)}, "task", 4)
    path = tmp_path / "stats" / "stats.safetensors"
    NormStats(
        good.mode,
        good.tasks,
        good.mean[:, :10].contiguous(),
        good.std,
        good.mask,
        good.n,
        good.layers,
    ).save(path)
    with pytest.raises(ArtifactError) as e:
        NormStats.load(path)
    msg = str(e.value)
    print(msg)
    assert msg.startswith(f"{path}: 'mean' does not fit the tasks and mask")
    assert f"expected shape [2, {K}] (2 tasks x {K} generated coordinates); found [2, 10]" in msg
    assert "reruns rule compute_norm_stats" in msg


def test_stats_for_another_k(tmp_path):
    """Harvests of another LoRA than the stats were computed for:
    the error names the harvest and both Ks."""
    from condpdiff.params.norm_stats import load_training_harvests

    stats = compute({"sst2": harvest("sst2"), "rte": harvest("rte", seed=1)}, "task", 4)
    rank4 = [(n, (4, s[1]) if "lora_A" in n else (s[0], 4)) for n, s in LAYOUT]
    paths = [tmp_path / "sst2.safetensors", tmp_path / "rte.safetensors"]
    for i, (t, p) in enumerate(zip(("sst2", "rte"), paths)):
        harvest(t, seed=i, layout=rank4).save(p)
    with pytest.raises(
        ArtifactError,
        match=re.escape(
            f"{paths[0]}: parameter vectors do not fit the normalisation "
            f"stats; expected K = {K} (the stats' mask); found K = {2 * K}"
        ),
    ):
        load_training_harvests(
            stats, tmp_path / "stats.safetensors", list(map(str, paths)), ["sst2", "rte"]
        )
    with pytest.raises(
        ArtifactError,
        match=(
            r"stats\.safetensors: normalisation stats of other tasks; "
            r"expected tasks \['rte', 'sst2'\]"
        ),
    ):
        load_training_harvests(
            stats, tmp_path / "stats.safetensors", list(map(str, paths[::-1])), ["rte", "sst2"]
        )
