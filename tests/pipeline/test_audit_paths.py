"""The audit's arms in the path layout: {control} after the sampler / recipe, the null condition
and the memorisation cell, and the config's arms."""

from __future__ import annotations

import re

import pytest

from condpdiff.pipeline.generators import draw_wildcards
from condpdiff.pipeline.names import CONTROL_RE, CONTROLS
from condpdiff.pipeline.paths import (
    DRAW_RE,
    PLAIN_DRAW_RE,
    Paths,
    control_part,
    draw_part,
    split_draw,
)

W = {
    "backbone": "tiny",
    "rank": 1,
    "ftseed": "",
    "genseed": "",
    "n": 20,
    "layers": "all",
    "norm": "task",
    "unseen": "",
    "condition": "onehot",
    "task": "a",
    "sel_n": 64,
    "sel_seed": 0,
    "sel_pool": "",
    "sel_race": "",
}


@pytest.mark.parametrize("control", ["", *CONTROLS])
def test_draw_part_and_split_draw_round_trip(control):
    for kind, value, own in (("pdiff", "ddim50", "ddim50"), ("direct", "k8-layer-w0.75", None)):
        own = own or f"recipe-{value}"
        part = draw_part(kind, value, control)
        assert part == own + (f"-{control}" if control else "")
        assert split_draw(part) == (own, control)
        assert re.fullmatch(DRAW_RE, part)
        assert bool(re.fullmatch(PLAIN_DRAW_RE, part)) == (control == "")
        assert (
            draw_wildcards({"kind": kind, "condition": "c", "sampler": value, "control": control})[
                "draw"
            ]
            == part
        )


def test_unknown_arms_are_refused():
    with pytest.raises(ValueError, match="unknown audit arm 'soup'"):
        control_part("soup")
    assert not re.fullmatch(DRAW_RE, "ddim50-soup")
    assert re.fullmatch(CONTROL_RE, "") and not re.fullmatch(CONTROL_RE, "noise")


def test_a_setting_without_control_is_the_generators_own_draw():
    assert draw_wildcards({"condition": "c", "sampler": "ddim20"})["draw"] == "ddim20"


def test_arm_files_sit_beside_the_own_draws():
    P = Paths("R")
    own = P.generated(**W, kind="pdiff", draw="ddim20")
    assert P.generated(**W, kind="pdiff", draw="ddim20-noise") == own.replace(
        "/ddim20/", "/ddim20-noise/"
    )
    assert P.memorisation(**W, kind="pdiff", draw="ddim20") == own.replace(
        "generated.json", "memorisation.json"
    )
    assert (
        P.null_condition(condition="onehot", task="a") == "R/conditions/onehot/null/a.safetensors"
    )
    assert P.candidates(kind="pdiff").endswith("/{sampler}{control}/candidates/{task}.safetensors")
    # one model and one export folder per generator: an arm is a draw of it
    assert "{control}" not in P.direct("model.safetensors")
    assert P.direct("m", **W, recipe="k1-flat-w0", control="-null").endswith(
        "/direct/cond-onehot/recipe-k1-flat-w0/model/m"
    )


def test_config_arms_default_to_all_three(smoke_config):
    assert smoke_config["audit"]["arms"] == ["noise", "null", "shuffled"]
