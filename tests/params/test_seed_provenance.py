"""The seeds are provenance: a harvest records its fine-tuning seed, candidates and
reconstructions their generator seed too, and a file of one seed is refused where its path or its
reader names another (issue #33: a seed-1 harvest fed to a seed-0 generator)."""

from __future__ import annotations

import re

import pytest
import torch

from condpdiff.params.norm_stats import NormStats, compute, load_harvests
from condpdiff.params.paramfile import ParamSet
from condpdiff.pipeline.artifacts import ProvenanceError, layout_expectation
from condpdiff.pipeline.paths import Paths, seed_wildcards

LAYOUT = [
    (f"m.layer.{i}.q.lora_{ab}.weight", (1, 4) if ab == "A" else (4, 1))
    for i in range(2)
    for ab in "AB"
]
K = 16
GEN = {"backbone": "tiny", "rank": 1, "n": 4, "layers": "all", "norm": "task", "unseen": ""}


def pset(task: str, kind: str = "checkpoints", **info) -> ParamSet:
    g = torch.Generator().manual_seed(len(task))
    return ParamSet(
        torch.randn(4, K, generator=g),
        LAYOUT,
        torch.arange(4),
        torch.rand(4, generator=g),
        {"classifier.weight": torch.randn(4, 2, 4, generator=g)},
        {"backbone": "tiny", "rank": 1, "kind": kind, "task": task, **info},
    )


def harvest_path(root: Paths, task: str, ftseed: int) -> str:
    return root.harvest(backbone="tiny", rank=1, task=task, **seed_wildcards({"ftseed": ftseed}))


def test_the_layout_reads_both_seeds_from_a_path():
    root = Paths("R")
    assert layout_expectation(harvest_path(root, "a", 3))["finetune_seed"] == ("3",)
    assert layout_expectation(harvest_path(root, "a", 0))["finetune_seed"] == ("0",)
    cands = root.candidates(
        **GEN,
        **seed_wildcards({"ftseed": 1, "genseed": 2}),
        kind="pdiff",
        draw="ddim5",
        condition="onehot",
        task="a",
    )
    want = layout_expectation(cands)
    assert (want["finetune_seed"], want["generator_seed"], want["mode"]) == (
        ("1",),
        ("2",),
        ("task",),
    )
    unseen = root.norm_stats(**{**GEN, "unseen": "-without-a_b"}, **seed_wildcards({"genseed": 4}))
    assert layout_expectation(unseen)["generator_seed"] == ("4",)


def test_a_harvest_at_another_seeds_path_is_refused(tmp_path):
    root = Paths(str(tmp_path))
    path = harvest_path(root, "a", 0)
    pset("a", finetune_seed=1).save(path)
    with pytest.raises(
        ProvenanceError,
        match=re.escape(
            "parameter file made for another finetune_seed; expected finetune_seed '0' (what its"
            " path names); found finetune_seed 1"
        ),
    ):
        ParamSet.load(path)
    pset("a", finetune_seed=1).save(harvest_path(root, "a", 1))
    assert ParamSet.load(harvest_path(root, "a", 1)).info["finetune_seed"] == 1


def test_a_seed_1_harvest_fed_to_a_seed_0_generator_is_refused(tmp_path):
    root = Paths(str(tmp_path))
    paths = [harvest_path(root, t, 0) for t in ("a", "b")]
    for t, p in zip(("a", "b"), paths):
        pset(t, finetune_seed=0).save(p)
    stats = compute(load_harvests(paths, ["a", "b"]), "task", 4)
    assert stats.finetune_seed == 0
    stats_path = root.norm_stats(**GEN, **seed_wildcards())
    stats.save(stats_path)
    stats = NormStats.load(stats_path)
    assert stats.finetune_seed == 0  # recorded in the file
    assert ParamSet.load(paths[0], stats.harvest_expect("a")).n == 4
    seed1 = harvest_path(root, "a", 1)
    pset("a", finetune_seed=1).save(seed1)
    with pytest.raises(
        ProvenanceError,
        match=re.escape(
            f"{seed1}: parameter file made for another finetune_seed; expected finetune_seed 0"
            " (what sample_candidates expects); found finetune_seed 1"
        ),
    ):
        ParamSet.load(seed1, stats.harvest_expect("a"), "sample_candidates")


def test_harvests_of_two_seeds_make_no_stats(tmp_path):
    root = Paths(str(tmp_path))
    a, b = harvest_path(root, "a", 0), harvest_path(root, "b", 1)
    pset("a", finetune_seed=0).save(a)
    pset("b", finetune_seed=1).save(b)
    with pytest.raises(
        ProvenanceError, match=re.escape(f"{b}: parameter file made for another finetune_seed")
    ):
        load_harvests([a, b], ["a", "b"], "compute_norm_stats")


def test_stats_at_another_seeds_path_are_refused(tmp_path):
    root = Paths(str(tmp_path))
    paths = [harvest_path(root, t, 2) for t in ("a", "b")]
    for t, p in zip(("a", "b"), paths):
        pset(t, finetune_seed=2).save(p)
    stats = compute(load_harvests(paths, ["a", "b"]), "task", 4)
    wrong = root.norm_stats(**GEN, **seed_wildcards())  # the seed-0 generator's folder
    stats.save(wrong)
    with pytest.raises(ProvenanceError, match="made for another finetune_seed"):
        NormStats.load(wrong)


def test_candidates_of_another_generator_seed_are_refused(tmp_path):
    root = Paths(str(tmp_path))
    w = {**GEN, **seed_wildcards({"genseed": 2}), "kind": "pdiff", "draw": "ddim5"}
    path = root.candidates(**w, condition="onehot", task="a")
    pset("a", "candidates", finetune_seed=0, generator_seed=0, condition="onehot").save(path)
    with pytest.raises(
        ProvenanceError,
        match=re.escape(
            "made for another generator_seed; expected generator_seed '2' (what its path names);"
            " found generator_seed 0"
        ),
    ):
        ParamSet.load(path)
