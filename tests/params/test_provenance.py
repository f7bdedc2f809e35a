"""Every reader checks the provenance a cached file records (kind, task/style, backbone, rank, ...)
against what it expects and what the file's path names, and refuses a mismatch with an error
naming the file, the field, both values and the command that rebuilds it."""

from __future__ import annotations

import re

import pytest
import torch

from condpdiff.conditions.condition import Condition, load_condition
from condpdiff.params import compute_norm_stats
from condpdiff.params.norm_stats import NormStats, compute
from condpdiff.params.paramfile import ParamSet
from condpdiff.pipeline.artifacts import (
    HARVEST_KINDS,
    ArtifactError,
    ProvenanceError,
    check_provenance,
    layout_expectation,
    load_json,
)
from condpdiff.pipeline.paths import Paths
from condpdiff.util.atomic import write_json

LAYOUT = [
    (f"m.layer.{i}.q.lora_{ab}.weight", shape)
    for i in range(2)
    for ab, shape in (("A", (1, 8)), ("B", (8, 1)))
]
K = 32
R = Paths("results/p")
W = {
    "backbone": "tiny",
    "rank": 1,
    "n": 6,
    "layers": "all",
    "norm": "task",
    "unseen": "",
    "condition": "onehot",
    "ftseed": "",
    "genseed": "",
}
SEED0 = {"finetune_seed": ("0",), "generator_seed": ("0",)}  # no seed part: seed 0


def pset(task: str, kind: str = "checkpoints", n: int = 6, **info) -> ParamSet:
    g = torch.Generator().manual_seed(len(task))
    return ParamSet(
        torch.randn(n, K, generator=g),
        LAYOUT,
        torch.arange(n),
        torch.rand(n, generator=g),
        {"classifier.weight": torch.randn(n, 2, 8, generator=g)},
        {"backbone": "tiny", "rank": 1, "kind": kind, "task": task, **info},
    )


def write_task(path, name: str = "syn_sentiment"):
    from condpdiff.text.tasks import Task, task_to_dict

    write_json(
        path,
        task_to_dict(Task(name=name, num_labels=2, metric="accuracy", description="a test task")),
    )


def test_a_candidates_file_replaced_by_another_tasks_harvest_is_not_scored(
    tmp_path, assert_not_written
):
    """The issue's probe: syn_sentiment's candidates replaced by syn_topic's harvest (kind
    checkpoints, task syn_topic) were scored as syn_sentiment's (75.0 -> 53.1, no warning)."""
    from condpdiff.text import score

    root = Paths(str(tmp_path / "results"))
    cands = root.candidates(**W, kind="pdiff", draw="ddim20", task="syn_sentiment")
    harvest = root.harvest(backbone="tiny", rank=1, ftseed="", task="syn_sentiment")
    for path, p in (
        (cands, pset("syn_topic")),
        (harvest, pset("syn_sentiment")),
    ):  # the swapped file
        p.save(path)
    write_task(tmp_path / "task.json")
    out = tmp_path / "selection_scores.json"
    args = [
        "--model",
        "no-model-is-loaded",
        "--task-file",
        str(tmp_path / "task.json"),
        "--data-source",
        "local",
        "--rank",
        "1",
        "--alpha",
        "8",
        "--target-modules",
        "query",
        "--params",
        cands,
        "--harvest",
        harvest,
        "--splits",
        "selection",
        "--out",
        str(out),
    ]
    with pytest.raises(ProvenanceError) as e:
        score.main(args)
    msg = str(e.value)
    print(msg)
    assert msg.startswith(
        f"{cands}: parameter file made for another task; expected task 'syn_sentiment' (what "
        "condpdiff.text.score expects); found task 'syn_topic' (the file records kind checkpoints, "
        "task syn_topic, backbone tiny, rank 1)"
    )
    assert (
        f"To rebuild: run `snakemake {cands} --force --cores all" in msg
        and "rule sample_candidates" in msg
    )
    assert_not_written(out)
    # the same task's harvest in the candidates' place: refused by its kind, read from the path
    pset("syn_sentiment").save(cands)
    with pytest.raises(
        ProvenanceError,
        match=re.escape(
            "made for another kind; expected kind 'candidates' (what its "
            "path names); found kind 'checkpoints'"
        ),
    ):
        score.main(args)
    assert_not_written(out)


def test_the_harvest_a_score_takes_its_head_from_is_the_tasks_own(tmp_path, assert_not_written):
    from condpdiff.text import score

    root = Paths(str(tmp_path / "results"))
    cands = root.candidates(**W, kind="pdiff", draw="ddim20", task="syn_sentiment")
    pset("syn_sentiment", "candidates").save(cands)
    other = root.harvest(backbone="tiny", rank=1, ftseed="", task="syn_topic")
    pset("syn_topic").save(other)
    write_task(tmp_path / "task.json")
    out = tmp_path / "scores.json"
    with pytest.raises(
        ProvenanceError,
        match=re.escape(
            f"{other}: parameter file made for another task; expected "
            "task 'syn_sentiment' (what condpdiff.text.score (--harvest) "
            "expects); found task 'syn_topic'"
        ),
    ):
        score.main(
            [
                "--model",
                "none",
                "--task-file",
                str(tmp_path / "task.json"),
                "--data-source",
                "local",
                "--rank",
                "1",
                "--alpha",
                "8",
                "--target-modules",
                "query",
                "--params",
                cands,
                "--head",
                "last_checkpoint",
                "--harvest",
                other,
                "--out",
                str(out),
            ]
        )
    assert_not_written(out)


def test_best_of_a_selection_cache_of_another_file(tmp_path):
    from condpdiff.text import score

    root = Paths(str(tmp_path / "results"))
    cands = root.candidates(**W, kind="pdiff", draw="ddim20", task="syn_sentiment")
    pset("syn_sentiment", "candidates").save(cands)
    sel = tmp_path / "selection_scores.json"
    write_json(
        sel,
        {
            "format": "condpdiff-scores/1",
            "task": "syn_sentiment",
            "higher_is_better": True,
            "params_file": str(tmp_path / "other.safetensors"),
            "scores": {"selection": [{"score": 1.0}]},
        },
    )
    write_task(tmp_path / "task.json")
    with pytest.raises(
        ArtifactError,
        match=re.escape(
            f"{sel}: made from another parameter file (its params_file); expected '{cands}'"
        ),
    ):
        score.main(
            [
                "--model",
                "none",
                "--task-file",
                str(tmp_path / "task.json"),
                "--data-source",
                "local",
                "--rank",
                "1",
                "--alpha",
                "8",
                "--target-modules",
                "query",
                "--params",
                cands,
                "--best-of",
                str(sel),
                "--out",
                str(tmp_path / "s.json"),
            ]
        )


def test_norm_stats_refuse_harvests_given_for_the_wrong_tasks(tmp_path, assert_not_written):
    paths = [
        Paths(str(tmp_path)).harvest(backbone="tiny", rank=1, ftseed="", task=t)
        for t in ("sst2", "rte")
    ]
    for p, t in zip(paths, ("sst2", "rte")):
        pset(t).save(p)
    out = tmp_path / "stats.safetensors"
    with pytest.raises(
        ProvenanceError,
        match=re.escape(
            f"{paths[1]}: parameter file made for another task; expected "
            "task 'sst2' (what compute_norm_stats expects); found task "
            "'rte'"
        ),
    ):
        compute_norm_stats.main(
            [
                "--harvests",
                *paths[::-1],
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
    assert_not_written(out)


def test_stats_and_condition_files_are_checked_against_their_path(tmp_path):
    stats = compute({"sst2": pset("sst2"), "rte": pset("rte")}, "task", 4)
    batch_path = Paths(str(tmp_path)).norm_stats(**{**W, "norm": "batch", "n": 4})
    stats.save(batch_path)  # task-mode stats where batch-mode ones belong
    with pytest.raises(
        ProvenanceError,
        match=re.escape(
            "normalisation stats file made for another mode; expected "
            "mode 'batch' (what its path names); found mode 'task'"
        ),
    ):
        NormStats.load(batch_path)
    with pytest.raises(
        ProvenanceError,
        match="made for another n; expected n 6 .what its reader expects.; found n '4'",
    ):
        NormStats.load(batch_path, {"n": 6})
    compute({"sst2": pset("sst2"), "rte": pset("rte")}, "batch", 4).save(batch_path)
    assert (
        NormStats.load(batch_path, {"n": 4, "mode": None}).mode == "batch"
    )  # None: any (its path still checks)
    cond = Paths(str(tmp_path)).condition(condition="onehot", task="rte")
    Condition("onehot", torch.eye(2)[0], "sst2", "onehot:2", "sst2 rte").save(cond)
    with pytest.raises(
        ProvenanceError,
        match=re.escape(
            f"{cond}: condition file made for another task; expected "
            "task 'rte' (what its path names); found task 'sst2'"
        ),
    ):
        load_condition(cond)
    other = (
        tmp_path / "c.safetensors"
    )  # outside the layout: only what the reader expects is checked
    Condition("onehot", torch.eye(2)[0], "sst2", "onehot:2", "sst2 rte").save(other)
    assert load_condition(other).task == "sst2"
    with pytest.raises(
        ProvenanceError, match="expected task 'rte' .what its reader expects.; found task 'sst2'"
    ):
        load_condition(other, {"task": "rte"})


def test_an_image_style_harvest_is_known_by_its_style():
    """Style harvests record task 'style' and the style under 'style'; candidates inherit it."""
    base = "results/i/image/bases/tiny/pretrained"  # the rule records the base model as backbone
    info = {
        "kind": "harvest",
        "task": "style",
        "domain": "image",
        "style": "stl06",
        "rank": 4,
        "backbone": base,
        "base": base,
    }
    path = "results/i/finetune/tiny/r4/stl06/harvest.safetensors"
    from condpdiff.pipeline.artifacts import param_provenance

    expect = {"kind": HARVEST_KINDS, "task": "stl06"}
    check_provenance(path, "parameter file", param_provenance(info), expect)
    with pytest.raises(ProvenanceError, match="made for another task; expected task 'stl18'"):
        check_provenance(path.replace("stl06", "stl18"), "parameter file", param_provenance(info))
    keyed = {**info, "backbone": "tiny"}  # given the base's key, it is compared
    check_provenance(path, "parameter file", param_provenance(keyed), expect)
    with pytest.raises(ProvenanceError, match="made for another backbone; expected backbone 'pix'"):
        check_provenance(path.replace("/tiny/", "/pix/"), "parameter file", param_provenance(keyed))


def test_values_compare_as_text_and_unrecorded_fields_are_not_checked():
    check_provenance(
        "x.json", "cell", {"rank": 1, "n": "20"}, {"rank": "1", "n": 20, "task": "sst2"}
    )
    with pytest.raises(ProvenanceError) as e:
        check_provenance(
            "x.json", "cell", {"rank": 2, "kind": "soup"}, {"kind": ("candidates", "x"), "rank": 1}
        )
    msg = str(e.value)
    assert msg.startswith(
        "x.json: cell made for another kind and rank; expected kind one of ['candidates', 'x'], "
        "rank 1 (what its reader expects); found kind 'soup', rank 2 (the file records kind soup, "
        "rank 2)"
    )


def test_load_json_checks_what_it_is_given(tmp_path):
    write_json(tmp_path / "c.json", {"task": "rte", "score": 1.0})
    assert load_json(tmp_path / "c.json", "cell", expect={"task": "rte"})["score"] == 1.0
    with pytest.raises(ProvenanceError, match="cell made for another task; expected task 'sst2'"):
        load_json(tmp_path / "c.json", "cell", expect={"task": "sst2"})


@pytest.mark.parametrize(
    "path, expected",
    [
        (
            R.harvest(backbone="bert", rank=16, ftseed="-ftseed2", task="sst2"),
            {
                "backbone": ("bert",),
                "rank": ("16",),
                "finetune_seed": ("2",),
                "task": ("sst2",),
                "kind": HARVEST_KINDS,
            },
        ),
        (
            R.candidates(**W, kind="pdiff", draw="ddim50", task="rte"),
            {
                "backbone": ("tiny",),
                **SEED0,
                "rank": ("1",),
                "n": ("6",),
                "layers": ("all",),
                "mode": ("task",),
                "condition": ("onehot",),
                "control": ("",),
                "task": ("rte",),
                "kind": ("candidates",),
            },
        ),
        (
            R.candidates(
                **{**W, "unseen": "-without-rte", "layers": "0-4"},
                kind="direct",
                draw="recipe-k8-layer-w0.75",
                task="rte",
            ),
            {
                "backbone": ("tiny",),
                **SEED0,
                "rank": ("1",),
                "n": ("6",),
                "layers": ("0-4",),
                "mode": ("task",),
                "condition": ("onehot",),
                "control": ("",),
                "task": ("rte",),
                "kind": ("candidates",),
            },
        ),
        (
            R.reconstructions(**W, task="rte"),
            {
                "backbone": ("tiny",),
                **SEED0,
                "rank": ("1",),
                "n": ("6",),
                "layers": ("all",),
                "mode": ("task",),
                "task": ("rte",),
                "kind": ("reconstructions",),
            },
        ),
        (
            R.norm_stats(**{**W, "norm": "batch", "unseen": "-without-sst2"}),
            {
                "backbone": ("tiny",),
                **SEED0,
                "rank": ("1",),
                "n": ("6",),
                "layers": ("all",),
                "mode": ("batch",),
            },
        ),
        (
            R.condition(condition="clip-twoshot", task="sst2"),
            {"condition": ("clip-twoshot",), "control": ("",), "task": ("sst2",)},
        ),
        (
            R.null_condition(condition="clip-twoshot", task="sst2"),
            {"condition": ("clip-twoshot",), "control": ("null",), "task": ("sst2",)},
        ),
        ("results/p/tables/table1.csv", {}),
    ],
)
def test_layout_expectation_reads_the_paths_of_pipeline_paths(path, expected):
    """The layout patterns in pipeline.artifacts follow pipeline.paths (a moved path part fails)."""
    assert layout_expectation(path) == expected


def test_a_parameter_file_info_is_checked_against_its_path(tmp_path):
    path = Paths(str(tmp_path)).reconstructions(**W, task="rte")
    pset("rte", "reconstructions").save(path)
    assert ParamSet.load(path).info["task"] == "rte"
    pset("rte", "reconstructions", rank=2).save(path)
    with pytest.raises(
        ProvenanceError,
        match=re.escape(
            "made for another rank; expected rank '1' (what its path names); found rank 2"
        ),
    ):
        ParamSet.load(path)
