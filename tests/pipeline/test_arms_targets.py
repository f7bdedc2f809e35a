"""Table 1 and Table 2 in the arms layout: which cell files each arm, difference and measure row
reads for a config with two fine-tune and two generator seeds, and the pairing of differences."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from condpdiff.pipeline.arms_targets import arm_rows, audit_arms, seed_lists
from condpdiff.pipeline.config import check
from condpdiff.pipeline.targets import table_files, table_spec
from condpdiff.text.tasks import get_task

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = ROOT / "workflow/schemas/config.schema.yaml"
SEEDS = {"finetune": [0, 1], "generator": [0, 2]}
ROWS = [
    "generated",
    "noise",
    "null condition",
    "shuffled condition",
    "original",
    "soup",
    "no LoRA",
    "generated - original",
    "generated - soup",
    "generated - noise",
    "generated - null",
    "generated - shuffled",
    "memorisation",
]


def arm_entry(spec: dict, arm: str, task: str, block: int = 0) -> dict:
    """The entry of row `arm` in the `block`-th block (backbone x rank x generator) for `task`."""
    rows = [r for r in spec["rows"] if r["label"]["arm"] == arm]
    return rows[block]["cells"][task]["score"]


def seeded(config: dict, **more) -> dict:
    """`config` with two fine-tune and two generator seeds (text: one generator, table1)."""
    config = copy.deepcopy(config)
    config["seeds"] = copy.deepcopy(SEEDS)
    if "tasks" in config and config["tasks"]:
        config.update(compare_generators=[], targets=["table1"])
        config["ablations"].pop("direct", None)
    config.update(more)
    return config


def test_table1_arms_over_finetune_and_generator_seeds(smoke_config):
    config = seeded(smoke_config)
    check(config, SCHEMA, get_task)
    spec = table_spec(config, "table1")
    assert spec["kind"] == "arms" and spec["columns"] == ["score"]
    assert [r["label"]["arm"] for r in spec["rows"]] == ROWS
    assert {r["role"] for r in spec["rows"][7:12]} == {"difference"}
    assert spec["rows"][-1]["role"] == "measure"
    gen = arm_entry(spec, "generated", "syn_topic")
    assert gen["groups"] == [0, 0, 1, 1]
    parts = [
        ("/r1/", "/norm-task/"),
        ("/r1/", "/norm-task-genseed2/"),
        ("/r1-ftseed1/", "/norm-task/"),
        ("/r1-ftseed1/", "/norm-task-genseed2/"),
    ]
    for path, (ft, gs) in zip(gen["replicates"], parts):
        assert ft in path and gs in path
        assert path.endswith("/ddim20/syn_topic/sel64-seed0/generated.json")
    noise = arm_entry(spec, "noise", "syn_topic")["replicates"]
    assert noise == [p.replace("/ddim20/", "/ddim20-noise/") for p in gen["replicates"]]
    memo = arm_entry(spec, "memorisation", "syn_topic")["replicates"]
    assert memo == [p.replace("generated.json", "memorisation.json") for p in gen["replicates"]]
    orig = arm_entry(spec, "original", "syn_topic")
    assert orig == {
        "replicates": [
            "results/smoke/scores/tiny/r1/n20/syn_topic/original.json",
            "results/smoke/scores/tiny/r1-ftseed1/n20/syn_topic/original.json",
        ],
        "groups": [0, 1],
    }
    assert arm_entry(spec, "no LoRA", "syn_topic")["replicates"] == [
        "results/smoke/scores/tiny/r1/syn_topic/nolora.json",
        "results/smoke/scores/tiny/r1-ftseed1/syn_topic/nolora.json",
    ]
    # generated(f, g) - original(f): the original of the pair's own fine-tune seed
    diff = arm_entry(spec, "generated - original", "syn_topic")
    assert diff["groups"] == [0, 0, 1, 1]
    assert [a for a, _ in diff["diff"]] == gen["replicates"]
    assert [b for _, b in diff["diff"]] == [orig["replicates"][f] for f in (0, 0, 1, 1)]
    # generated(f, g) - null(f, g)
    null = arm_entry(spec, "generated - null", "syn_topic")["diff"]
    assert all(b == a.replace("/ddim20/", "/ddim20-null/") for a, b in null)
    # per task: 4 x (generated, 3 audit arms, memorisation) + 2 x (original, soup, no LoRA)
    assert len(table_files(spec)) == 3 * (4 * 5 + 2 * 3)


def test_other_tables_use_the_first_seeds(smoke_config):
    config = seeded(smoke_config)
    config["seeds"] = {"finetune": [1, 0], "generator": [2, 0]}
    check(config, SCHEMA, get_task)
    config["leave_one_out"] = ["syn_topic"]
    for name in ("table3", "table_cross", "table_unseen", "table_recon"):
        files = table_files(table_spec(config, name))
        assert files and all("/r1-ftseed1/" in f for f in files), name
        generated = [f for f in files if "/layers-" in f]
        assert generated and all("-genseed2/" in f for f in generated), name


def test_audit_arms_config_and_defaults(smoke_config):
    config = seeded(smoke_config, audit={"arms": ["shuffled"]})
    check(config, SCHEMA, get_task)
    arms = [r["label"]["arm"] for r in table_spec(config, "table1")["rows"]]
    assert "noise" not in arms and "generated - noise" not in arms
    assert "shuffled condition" in arms and "generated - shuffled" in arms
    assert audit_arms({}) == ["noise", "null", "shuffled"]
    assert seed_lists({}) == ([0], [0])
    with pytest.raises(ValueError, match=r"'audit.arms': unknown arm\(s\) \['soup'\]"):
        audit_arms({"audit": {"arms": ["soup"]}})


def test_one_seed_each_keeps_todays_paths(smoke_config):
    config = copy.deepcopy(smoke_config)
    config["compare_generators"] = []
    config["seeds"] = {"finetune": [0], "generator": [0]}
    spec = table_spec(config, "table1")
    gen = arm_entry(spec, "generated", "syn_topic")
    assert gen == {
        "replicates": [
            "results/smoke/scores/tiny/r1/n20/layers-all/norm-task/pdiff/cond-onehot/ddim20/syn_topic/sel64-seed0/generated.json"
        ],
        "groups": [0],
    }


def test_a_cell_shared_by_every_seed_is_one_replicate():
    rows = arm_rows(
        {"seeds": SEEDS, "audit": {"arms": []}},
        {"base": "b"},
        ["s"],
        lambda kind, task, extra: (
            f"{kind}/{task}"
            + ("" if kind == "nolora" else f"/f{extra['ftseed']}g{extra['genseed']}")
        ),
    )
    nolora = next(r for r in rows if r["label"]["arm"] == "no LoRA")
    assert nolora["cells"]["s"]["score"] == {"replicates": ["nolora/s"], "groups": [0]}


def demo_image() -> dict:
    config = yaml.safe_load((ROOT / "config/smoke_image.yaml").read_text())
    check(config, SCHEMA, get_task)
    return config


def test_table2_arms_over_seeds():
    config = seeded(demo_image())
    spec = table_spec(config, "table2")
    style = spec["tasks"][0]
    assert spec["kind"] == "arms" and spec["digits"] == 2
    labels = [r["label"]["generator"].split()[0] for r in spec["rows"]]
    assert labels == ["pdiff"] * len(ROWS) + ["direct"] * len(ROWS)
    gen = arm_entry(spec, "generated", style, block=1)
    assert "/recipe-k4-layer-w0.75/" in gen["replicates"][0]
    assert "/r4-ftseed1/" in gen["replicates"][3] and "-genseed2/" in gen["replicates"][3]
    assert all("/image/eval/" in p and "-seed0/" in p for p in table_files(spec))
    # the base model alone does not depend on the fine-tune seed: one replicate
    nolora = arm_entry(spec, "no LoRA", style)
    assert len(nolora["replicates"]) == 1 and nolora["replicates"][0].endswith(
        f"/nolora/{style}/nolora.json"
    )
    soup = arm_entry(spec, "generated - soup", style, block=1)["diff"]
    assert [b for _, b in soup][2].endswith(f"/r4-ftseed1/n10/{style}/soup.json")
    memo = arm_entry(spec, "memorisation", style)["replicates"]
    assert all(p.endswith(f"/{style}/sel16-seed0/memorisation.json") for p in memo)
    # table2_noise keeps its layout at the first seeds
    noise = table_spec(config, "table2_noise")
    assert noise["kind"] == "plain" and all("-ftseed" not in p for p in table_files(noise))


def test_cell_path_takes_seeds_and_an_audit_arm():
    from condpdiff.pipeline.targets import cell_path

    setting = {
        "n": 20,
        "layers": "all",
        "norm": "task",
        "kind": "pdiff",
        "condition": "onehot",
        "sampler": "ddim20",
        "selection": "sel64-seed0",
    }
    seeded = {**setting, "ftseed": 1, "genseed": 2, "control": "null"}
    assert cell_path("R", "memorisation", "b", 1, "t", seeded) == (
        "R/scores/b/r1-ftseed1/n20/layers-all/norm-task-genseed2/pdiff/cond-onehot/ddim20-null/t/"
        "sel64-seed0/memorisation.json"
    )
    assert (
        cell_path("R", "original", "b", 1, "t", seeded)
        == "R/scores/b/r1-ftseed1/n20/t/original.json"
    )
    assert cell_path("R", "nolora", "b", 1, "t", seeded) == "R/scores/b/r1-ftseed1/t/nolora.json"
    assert cell_path("R", "generated", "b", 1, "t", setting) == (
        "R/scores/b/r1/n20/layers-all/norm-task/pdiff/cond-onehot/ddim20/t/sel64-seed0/generated.json"
    )
    with pytest.raises(ValueError, match="unknown cell kind 'best'"):
        cell_path("R", "best", "b", 1, "t", seeded)
