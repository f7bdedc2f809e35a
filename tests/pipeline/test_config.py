"""Config errors stop the run before any job starts, naming the key; the shipped configs are valid;
the schema's names and defaults agree with the code they configure."""

from __future__ import annotations

import copy
import dataclasses
from pathlib import Path

import pytest
import yaml

from condpdiff.pipeline import names
from condpdiff.pipeline.figure_targets import FIGURE_TARGETS
from condpdiff.pipeline.config import ConfigError, check, check_schema, check_semantics, load_schema
from condpdiff.text.tasks import get_task

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = ROOT / "workflow/schemas/config.schema.yaml"


def smoke() -> dict:
    return yaml.safe_load((ROOT / "config/smoke.yaml").read_text())


def shipped_configs() -> list[str]:
    """config/*.yaml, and the overlays under config/ subfolders (config/experiments/)."""
    return sorted(str(p.relative_to(ROOT / "config")) for p in (ROOT / "config").rglob("*.yaml"))


def load_shipped(name: str) -> dict:
    """A shipped config as the workflow sees it: an overlay (config/<folder>/x.yaml) goes on
    config/demo_cpu.yaml (image_* overlays on config/image_demo_cpu.yaml), the config its header
    says it is run with (--configfile base overlay)."""
    from snakemake.utils import update_config

    config = yaml.safe_load((ROOT / "config" / name).read_text())
    if "/" in name:
        base_name = "image_demo_cpu.yaml" if Path(name).name.startswith("image_") else "demo_cpu.yaml"
        base = yaml.safe_load((ROOT / "config" / base_name).read_text())
        update_config(base, config)
        config = base
    data = config.get("data", {})
    if data.get("source") == "local" and not Path(data["glue_dir"]).expanduser().is_absolute():
        data["glue_dir"] = str(ROOT / data["glue_dir"])  # relative to the checkout (the workflow's cwd), not to ours
    for spec in config.get("backbones", {}).values():
        if str(spec.get("model", "")).startswith("."):
            spec["model"] = str(ROOT / spec["model"])
    return config


@pytest.mark.parametrize("name", shipped_configs())
def test_shipped_configs_are_valid(name):
    config = load_shipped(name)
    try:
        check(config, SCHEMA, get_task)
    except ConfigError as e:
        if e.key == "data.glue_dir" or e.key.startswith("backbones."):
            pytest.skip(f"{name} needs local files this machine lacks (../shared): {e}")
        raise


@pytest.mark.parametrize(
    "edit, key, words",
    [
        (lambda c: c["finetune"].update(epoch=3), "finetune.epoch", "unknown key"),
        (lambda c: c.update(colour="red"), "colour", "unknown key"),
        (lambda c: c["finetune"].update(epochs="three"), "finetune.epochs", "not of type 'integer'"),
        (lambda c: c["generator"].update(norm="layer"), "generator.norm", "is not one of"),
        (lambda c: c["generator"].update(condition="foo"), "generator.condition", "'foo' is not one of"),
        (lambda c: c["generator"].update(kind="gan"), "generator.kind", "is not one of"),
        (lambda c: c["generator"].update(sampler="euler20"), "generator.sampler", "does not match"),
        (lambda c: c["generator"].update(layers="first"), "generator.layers", "does not match"),
        (lambda c: c["ablations"].update(condition=["onehot", "bar"]), "ablations.condition.1", "is not one of"),
        (lambda c: c.update(targets=["table9"]), "targets.0", "is not one of"),
        (lambda c: c.update(targets=["table2"]), "targets", "is an image table"),
        (lambda c: c.update(image={"bases": {}, "styles": {}}), "image.generator", "required key is missing"),
        (lambda c: c["scoring"].update(head="best"), "scoring.head", "is not one of"),
        (lambda c: c["scoring"].update(selection_from="dev"), "scoring.selection_from", "is not one of"),
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
        check(config, SCHEMA, get_task)
    assert info.value.key == key
    assert f"config key '{key}'" in str(info.value) and words in str(info.value)


def test_hub_ids_are_not_taken_for_missing_paths():
    config = smoke()
    config["backbones"]["bert"] = {"model": "bert-base-uncased", "target_modules": ["query"]}
    check(config, SCHEMA, get_task)


def test_load_schema_takes_the_names_from_pipeline_names():
    """The schema file lists no name; load_schema fills every enum and pattern from pipeline.names."""
    raw = yaml.safe_load(SCHEMA.read_text())["$defs"]
    assert all("enum" not in raw[d] for d in ("norm", "condition", "generator_kind", "table"))
    defs = load_schema(SCHEMA)["$defs"]
    assert defs["condition"]["enum"] == list(names.CONDITIONS + names.DATA_CONDITIONS)
    assert defs["norm"]["enum"] == list(names.NORMS)
    assert defs["generator_kind"]["enum"] == list(names.GENERATOR_KINDS)
    assert defs["table"]["enum"] == list(names.TABLES) + list(FIGURE_TARGETS)  # tables, then figure targets
    assert defs["sampler"]["pattern"] == f"^({names.SAMPLER_RE}|{names.DIRECT_RE})$"
    scoring = load_schema(SCHEMA)["properties"]["scoring"]["properties"]
    assert scoring["head"]["enum"] == list(names.HEADS)
    assert scoring["selection_from"]["enum"] == list(names.SELECTION_FROM)


def test_a_new_name_is_accepted_once_it_is_in_pipeline_names(monkeypatch):
    config = smoke()
    config["generator"]["condition"] = "foo"
    with pytest.raises(ConfigError, match="generator.condition"):
        check_schema(config, load_schema(SCHEMA))
    monkeypatch.setattr(names, "CONDITIONS", (*names.CONDITIONS, "foo"))
    check_schema(config, load_schema(SCHEMA))


def test_semantics_use_the_given_task_lookup():
    config = smoke()
    seen = []

    def lookup(name, cfg):
        seen.append(name)
        if name == "syn_topic":
            raise KeyError(f"unknown task {name!r} (from the test's lookup)")

    with pytest.raises(ConfigError, match="from the test's lookup") as info:
        check_semantics(config, lookup)
    assert info.value.key == "tasks" and seen == ["syn_sentiment", "syn_topic"]


# --- the schema against the dataclasses its sections become (``settings.flags``: one --flag per key) ---


def _section(name: str) -> dict:
    return yaml.safe_load(SCHEMA.read_text())["properties"][name]["properties"]


def _dataclasses(section: str) -> list:
    from condpdiff.text.encode_condition import ConditionConfig
    from condpdiff.generator.pdiff.autoencoder import AutoencoderConfig
    from condpdiff.generator.pdiff.denoiser import DenoiserConfig
    from condpdiff.generator.pdiff.sample_candidates import SamplingConfig
    from condpdiff.generator.pdiff.train_autoencoder import AETrainConfig
    from condpdiff.generator.pdiff.train_diffusion import DiffusionTrainConfig
    from condpdiff.text.finetune_lora import FinetuneConfig
    from condpdiff.text.score import ScoringConfig

    return {
        "scoring": [ScoringConfig],
        "sampling": [SamplingConfig],
        "conditions": [ConditionConfig],
        "finetune": [FinetuneConfig],
        "autoencoder": [AutoencoderConfig, AETrainConfig],
        "diffusion": [DenoiserConfig, DiffusionTrainConfig],
    }[section]


def _defaults(classes) -> dict:
    out = {}
    for cls in classes:
        for f in dataclasses.fields(cls):
            if f.default is not dataclasses.MISSING:
                out[f.name] = f.default
            elif f.default_factory is not dataclasses.MISSING:
                out[f.name] = f.default_factory()
    return out


@pytest.mark.parametrize("section", ["scoring", "sampling", "conditions", "finetune", "autoencoder", "diffusion"])
def test_schema_defaults_equal_the_dataclass_defaults(section):
    """A default written in the schema must be the step's own default (else a config-less run differs)."""
    code = _defaults(_dataclasses(section))
    schema = {k: v["default"] for k, v in _section(section).items() if "default" in v}
    both = sorted(set(schema) & set(code))
    if section in ("scoring", "sampling"):
        assert both, f"no default of {section} is checked"
    for key in both:
        value = code[key]
        value = list(value) if isinstance(value, tuple) else value
        assert schema[key] == value and type(schema[key]) is type(value), (section, key, schema[key], value)


# Scoring keys the workflow consumes itself (paths, rule choice), not ScoringConfig flags.
WORKFLOW_ONLY = {"scoring": {"harvest_every", "head", "merge_full_model", "dev_all_candidates", "selection_race"}}


@pytest.mark.parametrize("section", ["scoring", "sampling", "conditions", "finetune", "autoencoder", "diffusion"])
def test_every_schema_key_is_a_flag_of_its_step(section):
    fields = set(_defaults(_dataclasses(section)))
    extra = set(_section(section)) - fields - WORKFLOW_ONLY.get(section, set())
    assert not extra, f"config '{section}' keys that are no field of {_dataclasses(section)}: {sorted(extra)}"
