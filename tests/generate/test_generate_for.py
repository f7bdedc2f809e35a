"""Config `generate_for`: adapters for new conditions from the default generator, no fine-tuning
(rule generate_adapter, target generated_adapters; condpdiff.pipeline.generate_for)."""

from __future__ import annotations

import copy
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from condpdiff.pipeline import export_args, generate_for
from condpdiff.pipeline.config import ConfigError, check
from condpdiff.pipeline.paths import Paths
from condpdiff.pipeline.targets import all_targets
from condpdiff.text.tasks import get_task

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = ROOT / "workflow/schemas/config.schema.yaml"
SMOKE_TASKS = ("syn_sentiment", "syn_topic", "syn_overlap")
DESCRIPTION = "Is the review's owner's mood good? (yes/no)"


@pytest.fixture
def tsv(tmp_path) -> str:
    path = tmp_path / "reviews.tsv"
    path.write_text("sentence\tlabel\nthe film was great\t1\nthe plot was dull\t0\n")
    return str(path)


def text_config(smoke_config, tsv: str, results: Path, **entries) -> dict:
    """smoke.yaml with a content-conditioned default generator and `entries` (default: one)."""
    config = copy.deepcopy(smoke_config)
    config["results_dir"] = str(results)
    config["generator"]["condition"] = "sentence-desc"
    spec = {"examples": tsv, "description": DESCRIPTION, "num_labels": 2}
    config["generate_for"] = {"text": entries or {"my_reviews": spec}}
    return config


def config_error(config: dict) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        check(config, SCHEMA, get_task)
    return info.value


def test_schema_accepts_entries_and_fills_the_options(smoke_config, tsv, tmp_path):
    config = text_config(smoke_config, tsv, tmp_path / "r")
    config["generate_for"]["text"]["plain"] = {"examples": tsv, "description": "d", "num_labels": 1}
    check(config, SCHEMA, get_task)
    gf = config["generate_for"]
    assert gf["images"] == {} and gf["num_candidates"] >= 1 and gf["device"] == "cpu"
    assert set(gf["text"]) == {"my_reviews", "plain"}


@pytest.mark.parametrize(
    "entry, key, words",
    [
        ({"my-reviews": {"examples": "x.tsv"}}, "generate_for.text", "letters, digits and _"),
        ({"a": {"description": "d"}}, "generate_for.text.a.examples", "required key is missing"),
        ({"a": {"examples": "x.tsv", "labels": 2}}, "generate_for.text.a.labels", "unknown key"),
        ({"a": {"examples": "x.tsv", "num_labels": 0}}, "generate_for.text.a.num_labels", "0"),
        ({"a": "x.tsv"}, "generate_for.text.a", "not of type 'object'"),
    ],
)
def test_schema_refuses_bad_entries_by_name(smoke_config, entry, key, words):
    config = copy.deepcopy(smoke_config)
    config["generate_for"] = {"text": entry}
    err = config_error(config)
    assert err.key == key and words in str(err)


def test_schema_refuses_a_bad_style_entry(smoke_config):
    config = copy.deepcopy(smoke_config)
    config["generate_for"] = {"images": {"s": {"path": "x"}}}
    assert config_error(config).key == "generate_for.images.s.folder"


@pytest.mark.parametrize(
    "edit, key, words",
    [
        (lambda c, t: c["generator"].update(condition="onehot"), "", "index of its training tasks"),
        (lambda c, t: c["e"].update(examples=t + ".missing"), ".my_reviews.examples", "not exist"),
        (lambda c, t: c["e"].update(examples=t + ";rm"), ".my_reviews.examples", "';'"),
        (lambda c, t: c["e"].pop("description"), ".my_reviews.description", "embeds"),
        (lambda c, t: c["e"].pop("num_labels"), ".my_reviews.num_labels", "[1, 2] labels"),
        (lambda c, t: c["e"].update(num_labels=3), ".my_reviews.num_labels", "one of [1, 2]"),
    ],
)
def test_bad_text_entries_name_the_key(smoke_config, tsv, tmp_path, edit, key, words):
    config = text_config(smoke_config, tsv, tmp_path / "r")
    edit({**config, "e": config["generate_for"]["text"]["my_reviews"]}, tsv)
    err = config_error(config)
    assert err.key == "generate_for.text" + key and words in str(err)


def test_style_entries_need_the_image_branch_and_an_existing_folder(smoke_config, tmp_path):
    config = copy.deepcopy(smoke_config)
    config["generate_for"] = {"images": {"red": {"folder": str(tmp_path)}}}
    err = config_error(config)
    assert err.key == "generate_for.images" and "'image' section" in str(err)
    image = yaml.safe_load((ROOT / "config/smoke_image.yaml").read_text())
    image["generate_for"] = {"images": {"red": {"folder": str(tmp_path / "none")}}}
    err = config_error(image)
    assert err.key == "generate_for.images.red.folder" and "does not exist" in str(err)


def test_without_entries_all_is_unchanged(smoke_config):
    check(smoke_config, SCHEMA, get_task)
    assert generate_for.adapter_folders(smoke_config) == []
    assert not [t for t in all_targets(smoke_config) if "/adapters/generated/" in t]


def test_one_adapter_per_entry_backbone_and_rank(smoke_config, tsv, tmp_path):
    spec = {"examples": tsv, "description": "d", "num_labels": 2}
    config = text_config(smoke_config, tsv, tmp_path / "r", a=spec, b=spec)
    config["lora"]["ranks"] = [1, 2]
    check(config, SCHEMA, get_task)
    folders = generate_for.adapter_folders(config)
    P = Paths(config["results_dir"])
    want = P.generated_adapter(
        backbone="tiny", rank=2, n=20, layers="all", norm="task", unseen="", kind="pdiff"
    )
    want = want.replace("{condition}", "sentence-desc").replace("{sampler}", "ddim20")
    want = want.replace("{ftseed}", "").replace("{genseed}", "")
    assert len(folders) == 4 and want.replace("{entry}", "b") in folders
    assert set(folders) <= set(all_targets(config))
    config["seeds"] = {"finetune": [1, 0], "generator": [2]}  # the first seeds' generator
    assert all(
        "/r1-ftseed1/" in f or "/r2-ftseed1/" in f for f in generate_for.adapter_folders(config)
    )
    assert all("norm-task-genseed2/" in f for f in generate_for.adapter_folders(config))


def test_words_quote_the_entry_and_refuse_the_other_branch(smoke_config, tmp_path):
    odd = tmp_path / "my examples.tsv"
    odd.write_text("sentence\tlabel\na\t1\n")
    config = text_config(smoke_config, str(odd), tmp_path / "r")
    check(config, SCHEMA, get_task)
    words = shlex.split(export_args.generate_words(config, "tiny", "my_reviews"))
    at = {w: words[i + 1] for i, w in enumerate(words) if w.startswith("--")}
    assert at["--examples"] == str(odd) and at["--description"] == DESCRIPTION
    assert at["--name"] == "my_reviews" and at["--num-labels"] == "2"
    assert "--finetune-steps" not in words  # no fine-tuning of a new condition
    assert export_args.generate_inputs(config, "tiny", "my_reviews") == [str(odd)]
    with pytest.raises(ValueError, match="not a generate_for.text entry"):
        export_args.generate_words(config, "tiny", "unknown")


def snakemake(*args) -> subprocess.CompletedProcess:
    exe = Path(sys.executable).with_name("snakemake")
    return subprocess.run(
        [str(exe), *args], cwd=ROOT, capture_output=True, text=True, timeout=300, env=os.environ
    )


def job_blocks(text: str) -> dict[str, list[str]]:
    """A dry run's jobs: rule name -> the text of each of its jobs."""
    blocks: dict[str, list[str]] = {}
    for block in re.split(r"\n(?=(?:local)?rule \w+:)", text):
        m = re.match(r"(?:local)?rule (\w+):", block)
        if m:
            blocks.setdefault(m.group(1), []).append(block)
    return blocks


def write_overlay(tmp_path: Path, overlay: dict) -> str:
    path = tmp_path / "overlay.yaml"
    path.write_text(yaml.safe_dump(overlay))
    return str(path)


def test_dry_run_generates_each_entry_and_finetunes_none_of_them(tmp_path, tsv):
    spec = {"examples": tsv, "description": "d", "num_labels": 2}
    overlay = {
        "results_dir": str(tmp_path / "results"),
        "generator": {"condition": "sentence-desc"},
        "generate_for": {"text": {"new_a": spec, "new_b": {**spec, "num_labels": 1}}},
    }
    args = ["--configfile", "config/smoke.yaml", write_overlay(tmp_path, overlay)]
    out = snakemake("-n", *args, "--", "generated_adapters")
    assert out.returncode == 0, out.stderr[-3000:]
    jobs = job_blocks(out.stdout)
    generate = jobs["generate_adapter"]
    assert len(generate) == 2 and len(jobs["export_generator"]) == 1
    for name in ("new_a", "new_b"):
        assert sum("adapters/generated/tiny/" in b and f"/{name}\n" in b for b in generate) == 1
    finetune = [b for rule, blocks in jobs.items() if "finetune" in rule for b in blocks]
    assert finetune and all("new_" not in b for b in finetune)
    tasks = {re.search(r"task=(\w+)", b).group(1) for b in jobs["finetune_lora"]}
    assert tasks == set(SMOKE_TASKS)  # the generator's own training tasks only


def test_dry_run_of_a_style_entry(tmp_path):
    from PIL import Image

    folder = tmp_path / "style"
    folder.mkdir()
    for i in range(2):
        Image.new("RGB", (8, 8), (100 * i, 0, 0)).save(folder / f"{i}.png")
    overlay = {
        "results_dir": str(tmp_path / "results"),
        "generate_for": {"images": {"red": {"folder": str(folder)}}},
    }
    args = ["--configfile", "config/smoke_image.yaml", write_overlay(tmp_path, overlay)]
    out = snakemake("-n", "-p", *args, "--", "generated_adapters")
    assert out.returncode == 0, out.stderr[-3000:]
    (job,) = job_blocks(out.stdout)["generate_adapter"]
    assert f"--images {folder}" in job and "--num-candidates 1" in job
    assert all("red" not in b for b in job_blocks(out.stdout)["finetune_style_lora"])


@pytest.mark.slow
def test_workflow_job_writes_a_peft_folder(pdiff_text, text_material, tmp_path):
    """The rule's own job on smoke.yaml: the generator folder stands where export_generator puts
    it (export rules not allowed: the tests' tiny training built it); the adapter loads in peft."""
    from peft import PeftModel
    from transformers import AutoModelForSequenceClassification

    results = tmp_path / "results"
    overlay = {
        "results_dir": str(results),
        "generator": {"condition": "sentence-desc", "sampler": pdiff_text["draw"]},
        "generate_for": {
            "text": {
                "new_topic": {
                    "examples": text_material["examples"],
                    "description": "Decide whether two word lists are about the same topic.",
                    "num_labels": 2,
                }
            },
            "num_candidates": 2,
            "head_steps": 3,
            "threads": 1,
        },
    }
    P = Paths(str(results))
    w = dict(backbone="tiny", rank=1, n=20, layers="all", norm="task", unseen="", kind="pdiff")
    w.update(condition="sentence-desc", sampler=pdiff_text["draw"], ftseed="", genseed="")
    shutil.copytree(pdiff_text["folder"], P.generator_export(**w))
    args = ["--configfile", "config/smoke.yaml", write_overlay(tmp_path, overlay)]
    rules = ["--allowed-rules", "generate_adapter", "generated_adapters"]
    out = snakemake("--cores", "1", *rules, *args, "--", "generated_adapters")
    assert out.returncode == 0, out.stderr[-3000:]
    assert "finetune" not in out.stdout + out.stderr
    adapter = Path(P.generated_adapter(entry="new_topic", **w))
    prov = json.loads((adapter / "provenance.json").read_text())
    assert prov["condition"]["examples"] == text_material["examples"]
    assert prov["options"]["name"] == "new_topic" and prov["options"]["num_candidates"] == 2
    base = AutoModelForSequenceClassification.from_pretrained(
        str(Path(pdiff_text["folder"]) / "base"), num_labels=2
    )
    model = PeftModel.from_pretrained(base, str(adapter / "adapter"))
    assert any("lora_A" in name for name, _ in model.named_parameters())
