"""Config errors stop the run before any job starts, naming the key; the shipped configs are valid."""

from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from condpdiff.pipeline.config import ConfigError, check

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = ROOT / "workflow/schemas/config.schema.yaml"


def smoke() -> dict:
    return yaml.safe_load((ROOT / "config/smoke.yaml").read_text())


def test_shipped_smoke_and_paper_configs_are_valid():
    check(smoke(), SCHEMA)
    check(yaml.safe_load((ROOT / "config/config.yaml").read_text()), SCHEMA)


@pytest.mark.parametrize(
    "edit, key, words",
    [
        (lambda c: c["finetune"].update(epoch=3), "finetune.epoch", "unknown key"),
        (lambda c: c.update(colour="red"), "colour", "unknown key"),
        (lambda c: c["finetune"].update(epochs="three"), "finetune.epochs", "not of type 'integer'"),
        (lambda c: c["generator"].update(norm="layer"), "generator.norm", "is not one of"),
        (lambda c: c.pop("generator"), "generator", "required key is missing"),
        (lambda c: c["data"].update(source="local", glue_dir="/nonexistent/glue"), "data.glue_dir", "does not exist"),
        (
            lambda c: c["backbones"].update(real={"model": "./no/such/model", "target_modules": ["query"]}),
            "backbones.real.model",
            "does not exist",
        ),
        (lambda c: c.update(tasks=["sst2", "nosuchtask"]), "tasks", "unknown task 'nosuchtask'"),
        (lambda c: c["generator"].update(n=500), "generator.n", "exceeds finetune.harvest_last"),
        (lambda c: c["lora"].update(ranks=[3]), "lora.alpha", "no alpha for rank 3"),
    ],
)
def test_bad_config_names_the_key(edit, key, words):
    config = copy.deepcopy(smoke())
    edit(config)
    with pytest.raises(ConfigError) as info:
        check(config, SCHEMA)
    assert info.value.key == key
    assert f"config key '{key}'" in str(info.value) and words in str(info.value)


def test_hub_ids_are_not_taken_for_missing_paths():
    config = smoke()
    config["backbones"]["bert"] = {"model": "bert-base-uncased", "target_modules": ["query"]}
    check(config, SCHEMA)


def snakemake(*args, cwd=ROOT):
    exe = Path(sys.executable).with_name("snakemake")
    return subprocess.run([str(exe), *args], cwd=cwd, capture_output=True, text=True, timeout=300)


def test_snakemake_stops_before_any_job_on_a_bad_config(tmp_path):
    config = smoke()
    config["finetune"]["epoch"] = 3
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(config))
    out = snakemake("-n", "--configfile", str(bad))
    assert out.returncode != 0
    assert "config key 'finetune.epoch': unknown key" in out.stdout + out.stderr
    assert "Job stats" not in out.stdout


def test_dry_run_lists_the_expected_jobs(tmp_path):
    config = smoke()
    config["results_dir"] = str(tmp_path / "results")
    path = tmp_path / "smoke.yaml"
    path.write_text(yaml.safe_dump(config))
    targets = [f"{tmp_path}/results/finetune/tiny/r1/{t}/harvest.safetensors" for t in config["tasks"]]
    out = snakemake(*targets, "-n", "--configfile", str(path), "--quiet", "rules")
    assert out.returncode == 0, out.stderr
    text = out.stdout + out.stderr
    for rule, count in [("write_task", 3), ("make_synthetic_task", 3), ("build_tiny_backbone", 1), ("finetune_lora", 3)]:
        assert any(line.split()[:2] == [rule, str(count)] for line in text.splitlines()), (rule, text)
