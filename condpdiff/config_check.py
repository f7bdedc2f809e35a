"""Config validation with errors that name the offending key, before any job starts.

The JSON schema (workflow/schemas/config.schema.yaml) catches unknown keys and wrong types;
``check_semantics`` catches what a schema cannot: unknown tasks, missing local folders,
inconsistent settings.
"""

from __future__ import annotations

from pathlib import Path

import jsonschema
import yaml

from condpdiff.tasks import get_task


class ConfigError(ValueError):
    """A config problem, with the dotted key it is about."""

    def __init__(self, key: str, message: str):
        super().__init__(f"config key '{key}': {message}")
        self.key = key


def _dotted(path) -> str:
    return ".".join(str(p) for p in path) or "<top level>"


def check_schema(config: dict, schema_path: str | Path) -> None:
    schema = yaml.safe_load(Path(schema_path).read_text())
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


def check_semantics(config: dict) -> None:
    for task in config["tasks"]:
        try:
            get_task(task, config)
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
    for key, values in [("generator.n", [config["generator"]["n"]]), ("ablations.n", config.get("ablations", {}).get("n", []))]:
        for n in values:
            if n > harvest:
                raise ConfigError(key, f"n={n} exceeds finetune.harvest_last={harvest}")
    abl = config.get("ablations", {})
    if "backbone" in abl and abl["backbone"] not in config["backbones"]:
        raise ConfigError("ablations.backbone", f"{abl['backbone']!r} is not a key of 'backbones'")


def check(config: dict, schema_path: str | Path) -> None:
    check_schema(config, schema_path)
    check_semantics(config)
