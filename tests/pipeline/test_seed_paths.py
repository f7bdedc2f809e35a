"""Fine-tuning and generator seeds as path parts (issue #33): seed 0 is today's path, seed N adds
``-ftseed{N}`` after ``r{rank}`` and ``-genseed{N}`` after ``{unseen}``; every pattern with a rank
carries the fine-tuning seed, every generator pattern both; the rules pass the seed from the
path; a seed listed twice is refused."""

from __future__ import annotations

import copy
import inspect
import re
from pathlib import Path

import pytest
import yaml

from condpdiff.pipeline import paths
from condpdiff.pipeline.config import ConfigError, check
from condpdiff.pipeline.image_paths import GENERALISATION_LEVELS, ImagePaths
from condpdiff.pipeline.paths import (
    GEN_PART,
    SEED_RE,
    Paths,
    first_seeds,
    seed_of,
    seed_part,
    seed_wildcards,
)
from condpdiff.pipeline.settings import seed_flag
from condpdiff.text.tasks import get_task

ROOT = Path(__file__).resolve().parents[2]
W = {"backbone": "tiny", "rank": 1, "task": "t", "n": 20, "layers": "all", "norm": "task"}
GEN = {
    **W,
    "unseen": "",
    "kind": "pdiff",
    "condition": "onehot",
    "sampler": "ddim20",
    "control": "",
}


@pytest.mark.parametrize(
    "kind, n, part",
    [("ft", 0, ""), ("ft", 1, "-ftseed1"), ("gen", 0, ""), ("gen", 12, "-genseed12")],
)
def test_seed_part_round_trip(kind, n, part):
    assert seed_part(kind, n) == part
    assert seed_of(part) == n
    assert re.fullmatch(SEED_RE[kind], part)


@pytest.mark.parametrize("bad", ["-ftseed0", "-ftseed01", "ftseed1", "-genseed", "-seed1", "1"])
def test_seed_of_refuses_other_text(bad):
    with pytest.raises(ValueError, match="not a seed path part"):
        seed_of(bad)
    assert not any(re.fullmatch(r, bad) for r in SEED_RE.values())


@pytest.mark.parametrize("kind, n", [("ft", -1), ("gen", True), ("gen", "1"), ("other", 1)])
def test_seed_part_refuses_bad_seeds(kind, n):
    with pytest.raises(ValueError, match="seed"):
        seed_part(kind, n)


def test_seed_wildcards_default_to_seed_0():
    assert seed_wildcards() == {"ftseed": "", "genseed": ""}
    assert seed_wildcards({"ftseed": 2, "n": 5}) == {"ftseed": "-ftseed2", "genseed": ""}
    assert seed_wildcards({"ftseed": 0, "genseed": 3}) == {"ftseed": "", "genseed": "-genseed3"}


def test_first_seeds_are_the_first_of_each_list():
    assert first_seeds({}) == {"ftseed": 0, "genseed": 0}
    assert first_seeds({"seeds": {"finetune": [3, 1], "generator": [2, 0]}}) == {
        "ftseed": 3,
        "genseed": 2,
    }


def test_seed_0_paths_are_the_one_seed_paths():
    P = Paths("R")
    zero = seed_wildcards()
    assert P.harvest(**W, **zero) == "R/finetune/tiny/r1/t/harvest.safetensors"
    assert P.baseline("soup", **W, **zero) == "R/scores/tiny/r1/n20/t/soup.json"
    assert P.candidates(**GEN, **zero) == (
        "R/generator/tiny/r1/n20/layers-all/norm-task/pdiff/cond-onehot/ddim20/candidates"
        "/t.safetensors"
    )


def test_seed_parts_sit_after_the_rank_and_after_unseen():
    P = Paths("R")
    s = seed_wildcards({"ftseed": 1, "genseed": 2})
    assert P.harvest(**W, **s) == "R/finetune/tiny/r1-ftseed1/t/harvest.safetensors"
    assert P.harvest_scores(**W, **s) == "R/scores/tiny/r1-ftseed1/t/harvest_scores.json"
    assert P.baseline("original", **W, **s) == "R/scores/tiny/r1-ftseed1/n20/t/original.json"
    left_out = {**GEN, "unseen": "-without-t"}
    assert P.norm_stats(**left_out, **s) == (
        "R/generator/tiny/r1-ftseed1/n20/layers-all/norm-task-without-t-genseed2/stats.safetensors"
    )
    assert P.candidate_scores(**GEN, **s) == (
        "R/scores/tiny/r1-ftseed1/n20/layers-all/norm-task-genseed2/pdiff/cond-onehot/ddim20/t"
        "/candidate_scores.json"
    )
    assert P.adapter(**GEN, **s, sel_n=8, sel_seed=0, sel_pool="", sel_race="").startswith(
        "R/adapters/tiny/r1-ftseed1/n20/layers-all/norm-task-genseed2/"
    )


def _patterns(obj, skip=("log", "benchmark", "grid", "generalisation")) -> list[str]:
    out = []
    for name, method in inspect.getmembers(obj, inspect.ismethod):
        if name.startswith("_") or name in skip:
            continue
        args = [
            p
            for p in inspect.signature(method).parameters.values()
            if p.kind == p.POSITIONAL_OR_KEYWORD
        ]
        out.append(method(*(["x"] * len(args))))
    return out


def test_every_rank_pattern_carries_the_finetune_seed_and_every_generator_both():
    IP = ImagePaths("R", "E")
    patterns = _patterns(Paths("R")) + _patterns(IP) + _patterns(IP.scores)
    patterns += [IP.generalisation(level, "f") for level in GENERALISATION_LEVELS]
    tags = [v for k, v in vars(paths).items() if k.startswith("TAG_")]
    ranked = [p for p in patterns + tags if "r{rank}" in p]
    assert len(ranked) > 30
    for p in ranked:
        assert "r{rank}{ftseed}" in p, p
        assert p.count("{rank}") == 1, p
    generators = [p for p in patterns if "{norm}" in p]
    assert generators
    for p in generators:
        assert "norm-{norm}{unseen}{genseed}" in p, p
    assert "{genseed}" in paths.TAG_GEN and "{ftseed}" in paths.TAG_TASK
    assert GEN_PART.endswith("norm-{norm}{unseen}{genseed}")


def test_the_image_rules_tags_carry_the_finetune_seed():
    for smk in ("image_common.smk", "image_generalisation.smk"):
        text = (ROOT / "workflow/rules" / smk).read_text()
        tags = re.findall(r'"[^"\n]*_r\{rank\}[^"\n]*"', text)
        assert tags and all("_r{rank}{ftseed}" in t for t in tags), (smk, tags)


@pytest.mark.parametrize(
    "wildcards, kind, flag",
    [
        ({"ftseed": "", "genseed": "-genseed2"}, "ft", "--finetune-seed 0"),
        ({"ftseed": "-ftseed3", "genseed": ""}, "ft", "--finetune-seed 3"),
        ({"ftseed": "-ftseed3", "genseed": "-genseed2"}, "gen", "--generator-seed 2"),
        ({}, "gen", "--generator-seed 0"),
    ],
)
def test_a_jobs_seed_flag_comes_from_its_path(wildcards, kind, flag):
    assert seed_flag(kind, wildcards) == flag


def test_every_seeded_step_gets_its_seed_from_the_path():
    """The rules that train or sample pass `seeded(...)` (common.smk): the flags of the step's
    config section plus the seed read from the job's wildcards."""
    rules = ROOT / "workflow/rules"
    text = {f: (rules / f).read_text() for f in ("text.smk", "image.smk", "generator.smk")}
    text["generator_direct.smk"] = (rules / "generator_direct.smk").read_text()
    assert 'seeded(settings.flags(config["finetune"]), "ft")' in text["text.smk"]
    assert 'seeded(settings.flags(IMG["finetune"]), "ft")' in text["image.smk"]
    for section in ("autoencoder", "diffusion", "sampling"):
        assert f'seeded(settings.flags(config["{section}"]), "gen")' in text["generator.smk"]
    assert 'seeded(settings.flags(config["direct"]), "gen")' in text["generator_direct.smk"]
    assert 'seeded(direct_sampling_flags(), "gen")' in text["generator_direct.smk"]


def _smoke() -> dict:
    return copy.deepcopy(yaml.safe_load((ROOT / "config/smoke.yaml").read_text()))


def test_seeds_default_to_one_seed_each_and_a_repeated_seed_is_refused():
    config = _smoke()
    config.pop("seeds", None)
    check(config, ROOT / "workflow/schemas/config.schema.yaml", get_task)
    assert config["seeds"] == {"finetune": [0], "generator": [0]}
    config = _smoke()
    config["seeds"] = {"finetune": [0, 1], "generator": [0, 2, 2]}
    with pytest.raises(ConfigError) as e:
        check(config, ROOT / "workflow/schemas/config.schema.yaml", get_task)
    assert "seeds.generator" in str(e.value) and "seed 2 is listed more than once" in str(e.value)
    config["seeds"] = {"finetune": [-1]}
    with pytest.raises(ConfigError, match="seeds.finetune"):
        check(config, ROOT / "workflow/schemas/config.schema.yaml", get_task)
