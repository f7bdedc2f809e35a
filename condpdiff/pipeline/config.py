"""Config validation with errors that name the offending key, before any job starts.

The JSON schema (workflow/schemas/config.schema.yaml) catches unknown keys and wrong types and
holds every default; the enums of names (conditions, norms, tables, ...) are filled in from
``pipeline.names`` so that a name is written once. ``check_semantics`` catches what a schema
cannot: unknown tasks, missing local folders, inconsistent settings.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import jsonschema
import yaml

from condpdiff.pipeline import names


class ConfigError(ValueError):
    """A config problem, with the dotted key it is about."""

    def __init__(self, key: str, message: str):
        super().__init__(f"config key '{key}': {message}")
        self.key = key


def load_schema(schema_path: str | Path) -> dict:
    """The schema with its name enums taken from ``pipeline.names``."""
    schema = yaml.safe_load(Path(schema_path).read_text())
    defs = schema["$defs"]
    defs["norm"]["enum"] = list(names.NORMS)
    defs["condition"]["enum"] = list(names.CONDITIONS)
    defs["generator_kind"]["enum"] = list(names.GENERATOR_KINDS)
    defs["table"]["enum"] = list(names.TABLES)
    defs["sampler"]["pattern"] = f"^({names.SAMPLER_RE})$"
    defs["layers"]["pattern"] = f"^({names.LAYERS_RE})$"
    scoring = schema["properties"]["scoring"]["properties"]
    scoring["selection_from"]["enum"] = list(names.SELECTION_FROM)
    scoring["head"]["enum"] = list(names.HEADS)
    return schema


def _dotted(path) -> str:
    return ".".join(str(p) for p in path) or "<top level>"


def check_schema(config: dict, schema: dict) -> None:
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(config), key=lambda e: (len(e.absolute_path), e.message))
    if not errors:
        return
    err = jsonschema.exceptions.best_match(errors)
    path = list(err.absolute_path)
    if err.validator == "additionalProperties":
        allowed = sorted(err.schema.get("properties", {}))
        extra = sorted(set(err.instance) - set(allowed)) if isinstance(err.instance, dict) else []
        if extra and allowed:
            raise ConfigError(_dotted([*path, extra[0]]), f"unknown key (allowed here: {', '.join(allowed)})")
    if err.validator == "required":
        missing = err.message.split("'")[1] if "'" in err.message else err.message
        raise ConfigError(_dotted([*path, missing]), "required key is missing")
    raise ConfigError(_dotted(path), err.message)


def is_local_path(text: str) -> bool:
    """A model/data reference is a local path if it looks like one; 'org/name' is a hub id."""
    return text.startswith((".", "/", "~")) or Path(text).expanduser().exists()


def check_semantics(config: dict, task_lookup: Callable[[str, dict], object]) -> None:
    """What a schema cannot check. `task_lookup(name, config)` raises KeyError for an unknown task."""
    for task in config["tasks"]:
        try:
            task_lookup(task, config)
        except KeyError as e:
            raise ConfigError("tasks", str(e).strip('"')) from None
    data = config["data"]
    if data["source"] == "local":
        if "glue_dir" not in data:
            raise ConfigError("data.glue_dir", "required when data.source is 'local'")
        if not Path(data["glue_dir"]).expanduser().is_dir():
            raise ConfigError("data.glue_dir", f"local folder {data['glue_dir']!r} does not exist")
    for key, spec in config["backbones"].items():
        model = spec.get("model")
        if model and is_local_path(model) and not Path(model).expanduser().is_dir():
            raise ConfigError(f"backbones.{key}.model", f"local folder {model!r} does not exist")
    alphas = {str(k) for k in config["lora"]["alpha"]}
    for k in alphas:
        if not k.isdigit():
            raise ConfigError("lora.alpha", f"key {k!r} is not a LoRA rank (a positive integer)")
    for rank in config["lora"]["ranks"]:
        if str(rank) not in alphas:
            raise ConfigError("lora.alpha", f"no alpha for rank {rank}")
    harvest = config["finetune"].get("harvest_last", 150)
    abl = config.get("ablations") or {}
    for key, values in [("generator.n", [config["generator"]["n"]]), ("ablations.n", abl.get("n", []))]:
        for n in values:
            if n > harvest:
                raise ConfigError(key, f"n={n} exceeds finetune.harvest_last={harvest}")
    if "backbone" in abl and abl["backbone"] not in config["backbones"]:
        raise ConfigError("ablations.backbone", f"{abl['backbone']!r} is not a key of 'backbones'")


def check(config: dict, schema_path: str | Path, task_lookup: Callable[[str, dict], object]) -> dict:
    """Schema, then semantics; returns the schema (with names filled in) for Snakemake's validate()."""
    schema = load_schema(schema_path)
    check_schema(config, schema)
    check_semantics(config, task_lookup)
    return schema
