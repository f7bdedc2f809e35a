"""Artifact paths: partial filling, each generator kind's draw part, the selection path part, and
the cell file of every cell kind."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

from condpdiff.pipeline import paths
from condpdiff.pipeline.generators import draw_wildcards
from condpdiff.pipeline.paths import (
    DRAW_RE,
    SEL_PART,
    Paths,
    draw_part,
    fill,
    selection_part,
    selection_wildcards,
)
from condpdiff.pipeline.targets import CELL_KINDS, cell_path

ROOT = Path(__file__).resolve().parents[2]
R = "res"
W = {"backbone": "tiny", "rank": 1, "ftseed": "", "genseed": "", "task": "syn_topic", "n": 20}
SETTING = {"n": 20, "layers": "all", "norm": "task", "kind": "pdiff", "condition": "onehot",
           "sampler": "ddim20", "selection": "sel64-seed0"}  # fmt: skip


def constrained() -> set[str]:
    """The wildcards the workflow constrains: the global wildcard_constraints of common.smk."""
    text = (ROOT / "workflow/rules/common.smk").read_text()
    block = text.split("\nwildcard_constraints:\n", 1)[1].split("\n\n", 1)[0]
    return set(re.findall(r"^    ([a-z_]+)=", block, flags=re.M))


def test_fill_replaces_only_the_named_wildcards():
    assert fill("{a}/{b}/x{c}", a=1, c="z") == "1/{b}/xz"
    assert fill("{a}/{a}", a="q", unused=3) == "q/q"
    assert fill("{a}/{b}") == "{a}/{b}"
    assert fill("r{rank}/sel{sel_n}", rank=16, sel_n=1000) == "r16/sel1000"


def test_a_path_method_gives_the_pattern_or_a_filled_path():
    P = Paths("res/")  # a trailing slash is dropped
    assert P.harvest() == "res/finetune/{backbone}/r{rank}{ftseed}/{task}/harvest.safetensors"
    assert (
        P.harvest(backbone="tiny") == "res/finetune/tiny/r{rank}{ftseed}/{task}/harvest.safetensors"
    )
    assert P.harvest(**W) == "res/finetune/tiny/r1/syn_topic/harvest.safetensors"
    assert (
        P.autoencoder_dir(**W, layers="all", norm="task", unseen="")
        == "res/generator/tiny/r1/n20/layers-all/norm-task/pdiff/autoencoder"
    )
    assert P.candidates(
        **W,
        layers="0-0",
        norm="none",
        unseen="",
        kind="pdiff",
        condition="learnable",
        sampler="ddpm100",
    ) == (
        "res/generator/tiny/r1/n20/layers-0-0/norm-none/pdiff/cond-learnable/ddpm100/candidates/syn_topic.safetensors"
    )
    assert P.table("md", table="table1") == "res/tables/table1.md"


def test_every_pattern_uses_constrained_wildcards_only():
    P = Paths(R)
    found = set()
    for name, method in inspect.getmembers(P, inspect.ismethod):
        if name.startswith("_") or name in ("log", "benchmark"):
            continue
        args = [
            p
            for p in inspect.signature(method).parameters.values()
            if p.kind == p.POSITIONAL_OR_KEYWORD
        ]
        pattern = method(*(["x"] * len(args)))
        found |= set(re.findall(r"\{([A-Za-z_]+)\}", pattern))
    for tag in [v for k, v in vars(paths).items() if k.startswith("TAG_")]:
        found |= set(re.findall(r"\{([A-Za-z_]+)\}", tag))
    assert found <= constrained(), found - constrained()
    assert {"kind", "draw", "recipe", "sel_n", "sel_pool", "sel_race", "source"} <= found


def test_each_generator_kind_has_its_own_draw_part():
    """{draw} is pdiff's {sampler} or direct's recipe-{recipe}: a kind's own rules name their own
    wildcard, the rules every kind shares name {draw}, and neither part reads as the other."""
    P = Paths(R)
    files = "candidates/{task}.safetensors"
    assert P.candidates().endswith(f"/{{kind}}/cond-{{condition}}/{{draw}}/{files}")
    # ... each followed by {control}: "" or an audit arm (-noise, -null, -shuffled)
    pdiff = P.candidates(kind="pdiff")
    assert pdiff.endswith(f"/pdiff/cond-{{condition}}/{{sampler}}{{control}}/{files}")
    direct = P.candidates(kind="direct")
    assert direct.endswith(f"/direct/cond-{{condition}}/recipe-{{recipe}}{{control}}/{files}")
    model = P.direct("model.safetensors")
    assert model.endswith("/direct/cond-{condition}/recipe-{recipe}/model/model.safetensors")
    full = {**W, "layers": "all", "norm": "task", "unseen": "", "condition": "onehot"}
    by_kind = P.candidates(**full, kind="direct", recipe="k8-layer-w0.75")
    by_draw = P.candidates(**full, kind="direct", draw=draw_part("direct", "k8-layer-w0.75"))
    assert (
        by_kind
        == by_draw
        == (
            "res/generator/tiny/r1/n20/layers-all/norm-task/direct"
            "/cond-onehot/recipe-k8-layer-w0.75/candidates/syn_topic.safetensors"
        )
    )
    tag = fill(paths.TAG_DRAW, kind="pdiff")
    assert tag.endswith("_pdiff_cond-{condition}_{sampler}{control}_{task}")
    tag = fill(paths.TAG_DRAW, kind="direct")
    assert tag.endswith("_direct_cond-{condition}_recipe-{recipe}{control}_{task}")
    assert draw_part("pdiff", "ddim50") == "ddim50"
    for part in ("ddim50", "ddpm1000", "recipe-k8-layer-w0.75", "recipe-k1-flat-w0"):
        assert re.fullmatch(DRAW_RE, part), part
    for part in ("k8-layer-w0.75", "recipe-ddim50", "ddim0", "recipe-", "sampler-ddim50"):
        assert not re.fullmatch(DRAW_RE, part), part
    with pytest.raises(ValueError, match="unknown generator kind 'gan'"):
        P.candidates(kind="gan")


def test_a_settings_draw_wildcards_follow_its_kind():
    """A direct setting's config `sampler` is its recipe; in the path it is recipe-<recipe>."""
    direct = {"kind": "direct", "condition": "sentence-data", "sampler": "k8-layer-w0.75"}
    wanted = {"kind": "direct", "condition": "sentence-data", "draw": "recipe-k8-layer-w0.75"}
    assert draw_wildcards(direct) == wanted
    pdiff = {"condition": "onehot", "sampler": "ddim20"}  # no kind: the default generator's, pdiff
    assert draw_wildcards(pdiff) == {"kind": "pdiff", "condition": "onehot", "draw": "ddim20"}


@pytest.mark.parametrize(
    "size, seed, pool, race, part",
    [(1000, 0, "train", 0, "sel1000-seed0"), (64, 3, "heldout", 0, "sel64-seed3-heldout"),
     (5, 12, "train", 0, "sel5-seed12"), (1000, 0, "train", 125, "sel1000-seed0-race125"),
     (1000, 1, "heldout", 50, "sel1000-seed1-heldout-race50")],
)  # fmt: skip
def test_selection_part_round_trip(size, seed, pool, race, part):
    assert selection_part(size, seed, pool, race) == part
    w = selection_wildcards(part)
    assert w == {"sel_n": str(size), "sel_seed": str(seed),
                 "sel_pool": "-heldout" if pool == "heldout" else "",
                 "sel_race": f"-race{race}" if race else ""}  # fmt: skip
    assert fill(SEL_PART, **w) == part  # the wildcards rebuild the path part the rules match


@pytest.mark.parametrize(
    "bad", ["sel1000", "sel-1-seed0", "sel10-seed0-dev", "1000-seed0", "sel10-seed0/",
            "sel10-seed0-race0", "sel10-seed0-race5-heldout"]
)  # fmt: skip
def test_selection_wildcards_refuse_other_text(bad):
    with pytest.raises(ValueError, match="not a selection path part"):
        selection_wildcards(bad)


def test_cell_path_of_every_kind():
    P = Paths(R)
    gen = {**W, "layers": "all", "norm": "task", "unseen": "", "kind": "pdiff",
           "condition": "onehot", "sampler": "ddim20", "sel_n": 64, "sel_seed": 0, "sel_pool": "",
           "sel_race": ""}  # fmt: skip
    expected = {
        "original": "res/scores/tiny/r1/n20/syn_topic/original.json",
        "soup": "res/scores/tiny/r1/n20/syn_topic/soup.json",
        "nolora": "res/scores/tiny/r1/syn_topic/nolora.json",
        "recon": (
            "res/scores/tiny/r1/n20/layers-all/norm-task/pdiff/autoencoder/syn_topic/recon.json"
        ),
        "generated": (
            "res/scores/tiny/r1/n20/layers-all/norm-task/pdiff/cond-onehot/ddim20/syn_topic/"
            "sel64-seed0/generated.json"
        ),
    }
    for kind, path in expected.items():
        assert cell_path(R, kind, "tiny", 1, "syn_topic", SETTING) == path, kind
    assert expected["generated"] == P.generated(**gen)
    assert expected["recon"] == P.recon_scores("recon", **gen)
    cross = cell_path(R, "cross", "tiny", 1, "syn_topic", {**SETTING, "source": "syn_overlap"})
    assert cross == expected["generated"].replace("generated.json", "from-syn_overlap/cross.json")
    assert cross == P.cross("cross", source="syn_overlap", **gen)
    # the diagonal of the cross-task table is the generated cell itself
    assert (
        cell_path(R, "cross", "tiny", 1, "syn_topic", {**SETTING, "source": "syn_topic"})
        == expected["generated"]
    )
    assert set(CELL_KINDS) == {*expected, "cross", "memorisation"}


def test_cell_path_errors():
    with pytest.raises(ValueError, match="unknown cell kind 'best'"):
        cell_path(R, "best", "tiny", 1, "t", SETTING)
    no_sel = {k: v for k, v in SETTING.items() if k != "selection"}
    with pytest.raises(ValueError, match="selection split"):
        cell_path(R, "generated", "tiny", 1, "t", no_sel)
    assert cell_path(R, "original", "tiny", 1, "t", no_sel).endswith(
        "/n20/t/original.json"
    )  # baselines need no selection
    no_kind = {k: v for k, v in SETTING.items() if k != "kind"}  # the default generator's: pdiff
    generated = cell_path(R, "generated", "tiny", 1, "t", SETTING)
    assert cell_path(R, "generated", "tiny", 1, "t", no_kind) == generated
    with pytest.raises(ValueError, match="unknown generator kind"):
        cell_path(R, "generated", "tiny", 1, "t", {**SETTING, "kind": "gan"})
    heldout = cell_path(
        R, "generated", "tiny", 1, "t", {**SETTING, "selection": "sel64-seed0-heldout"}
    )
    assert heldout.endswith("/t/sel64-seed0-heldout/generated.json")
