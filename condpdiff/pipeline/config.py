"""Config validation with errors that name the offending key, before any job starts.

The JSON schema (workflow/schemas/config.schema.yaml) catches unknown keys and wrong types and
holds every default; the enums of names (conditions, norms, tables, ...) are filled in from
``pipeline.names`` and ``pipeline.tables`` so that a name is written once. ``check_semantics``
catches what a schema cannot: unknown tasks, missing local folders, inconsistent settings.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import jsonschema
import yaml

from condpdiff.pipeline import names
from condpdiff.pipeline.config_constraints import constraint_problems
from condpdiff.pipeline.config_paths import path_problems
from condpdiff.pipeline.figure_targets import FIGURE_TARGETS
from condpdiff.pipeline.generate_for import problems as generate_for_problems
from condpdiff.pipeline.generators import direct_setting, generator_settings
from condpdiff.pipeline.tables import IMAGE_TABLES, TABLES


class ConfigError(ValueError):
    """A config problem, with the dotted key it is about."""

    def __init__(self, key: str, message: str):
        super().__init__(f"config key '{key}': {message}")
        self.key = key


def load_schema(schema_path: str | Path) -> dict:
    """The schema with its name enums taken from ``pipeline.names`` and ``pipeline.tables``."""
    schema = yaml.safe_load(Path(schema_path).read_text())
    defs = schema["$defs"]
    defs["norm"]["enum"] = list(names.NORMS)
    defs["condition"]["enum"] = list(names.CONDITIONS + names.DATA_CONDITIONS)
    defs["image_condition"]["enum"] = list(names.IMAGE_CONDITIONS)
    defs["generator_kind"]["enum"] = list(names.GENERATOR_KINDS)
    defs["table"]["enum"] = list(TABLES) + list(FIGURE_TARGETS)
    defs["sampler"]["pattern"] = f"^({names.SAMPLER_RE}|{names.DIRECT_RE})$"
    defs["layers"]["pattern"] = f"^({names.LAYERS_RE})$"
    scoring = schema["properties"]["scoring"]["properties"]
    scoring["selection_from"]["enum"] = list(names.SELECTION_FROM)
    scoring["head"]["enum"] = list(names.HEADS)
    schema["properties"]["audit"]["properties"]["arms"]["items"]["enum"] = list(names.CONTROLS)
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
    if "propertyNames" in err.schema_path:  # a key that becomes a folder and file name part
        raise ConfigError(
            _dotted(path),
            f"found the key {err.instance!r}: a name here may hold "
            "only letters, digits and _ (it becomes part of file and folder names)",
        )
    if err.validator == "additionalProperties":
        allowed = sorted(err.schema.get("properties", {}))
        extra = sorted(set(err.instance) - set(allowed)) if isinstance(err.instance, dict) else []
        if extra and allowed:
            raise ConfigError(
                _dotted([*path, extra[0]]), f"unknown key (allowed here: {', '.join(allowed)})"
            )
    if err.validator == "dependentRequired":
        missing = err.message.split("'")[1] if "'" in err.message else err.message
        raise ConfigError(
            _dotted([*path, missing]),
            "required key is missing (the text branch needs it with 'tasks')",
        )
    if err.validator == "required":
        missing = err.message.split("'")[1] if "'" in err.message else err.message
        raise ConfigError(_dotted([*path, missing]), "required key is missing")
    raise ConfigError(_dotted(path), err.message)


def is_local_path(text: str) -> bool:
    """A model/data reference is a local path if it looks like one; 'org/name' is a hub id."""
    return text.startswith((".", "/", "~")) or Path(text).expanduser().exists()


def check_semantics(config: dict, task_lookup: Callable[[str, dict], object]) -> None:
    """What a schema cannot check. `task_lookup(name, config)` raises KeyError for an unknown
    task."""
    bad_path = next(path_problems(config), None)  # results_dir and the user's folders first
    if bad_path:
        raise ConfigError(*bad_path)
    if not config.get("tasks") and not config.get("image"):
        raise ConfigError(
            "tasks",
            "a config needs text tasks ('tasks' and its sections) or an 'image' section, or both",
        )
    if config.get("image"):
        check_image(config)
    if config.get("tasks"):
        check_generators(config, "", list(names.CONDITIONS + names.DATA_CONDITIONS))
    for table in config.get("targets", []):
        need = FIGURE_TARGETS.get(table)
        if need in ("text", "image") and not config.get("tasks" if need == "text" else "image"):
            raise ConfigError(
                "targets",
                f"{table} needs the {need} branch: the config has no"
                f" {'tasks' if need == 'text' else 'image section'}",
            )
        if need is not None:
            continue
        if table in IMAGE_TABLES and not config.get("image"):
            raise ConfigError(
                "targets", f"{table} is an image table: the config has no 'image' section"
            )
        if table not in IMAGE_TABLES and not config.get("tasks"):
            raise ConfigError("targets", f"{table} is a text table: the config has no 'tasks'")
    constraint = next(constraint_problems(config), None)  # settings that fail late
    if constraint:
        raise ConfigError(*constraint)
    generate = next(generate_for_problems(config, task_lookup), None)
    if generate:
        raise ConfigError(*generate)
    if not config.get("tasks"):
        return
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
    for key, values in [
        ("generator.n", [config["generator"]["n"]]),
        ("ablations.n", abl.get("n", [])),
    ]:
        for n in values:
            if n > harvest:
                raise ConfigError(key, f"n={n} exceeds finetune.harvest_last={harvest}")
    if "backbone" in abl and abl["backbone"] not in config["backbones"]:
        raise ConfigError("ablations.backbone", f"{abl['backbone']!r} is not a key of 'backbones'")
    for gen_key, gen in generator_settings(config):
        check_leave_one_out(
            config,
            "leave_one_out",
            config.get("leave_one_out", []),
            list(config["tasks"]),
            gen["condition"],
            "table_unseen",
            gen_key,
        )


def check_leave_one_out(
    config: dict,
    key: str,
    left_out: list,
    members: list,
    condition: str,
    table: str,
    gen_key: str = "generator",
) -> None:
    """Leave-one-out (`key`): known, distinct tasks, others left to train on, a condition an
    unseen task has."""
    unknown = [t for t in left_out if t not in members]
    if unknown:
        raise ConfigError(key, f"{unknown} not among the configured tasks/styles {members}")
    if len(set(left_out)) != len(left_out):
        raise ConfigError(key, f"a task is listed twice: {left_out}")
    if left_out and len(members) < 3:
        raise ConfigError(
            key,
            f"leaving one of {len(members)} out leaves fewer than two to train the generator on",
        )
    if left_out and condition not in names.CONTENT_CONDITIONS:
        raise ConfigError(
            key,
            f"the condition {condition!r} of {gen_key} is an index of the training tasks, which a"
            f" left-out task does not have: use one of {list(names.CONTENT_CONDITIONS)}",
        )
    if table in config.get("targets", []) and not left_out:
        raise ConfigError(key, f"the target {table} needs at least one task to leave out")


def check_generators(config: dict, prefix: str, conditions: list[str]) -> None:
    """Each generator setting: a condition of its branch, a sampler of its kind, data conditions
    with direct only."""
    seen = set()
    for key, gen in generator_settings(config, prefix):
        kind, cond, sampler = gen["kind"], gen["condition"], gen["sampler"]
        if cond not in conditions:
            raise ConfigError(f"{key}.condition", f"expected one of {conditions}, found {cond!r}")
        pattern = names.DIRECT_RE if kind == "direct" else names.SAMPLER_RE
        if not re.fullmatch(pattern, sampler):
            what = (
                "a recipe k<k>-<flat|layer>-w<exponent> (e.g. k8-layer-w0.75)"
                if kind == "direct"
                else "a sampler ddim<steps> or ddpm<steps> (e.g. ddim50)"
            )
            raise ConfigError(
                f"{key}.sampler", f"a generator of kind {kind!r} needs {what}, found {sampler!r}"
            )
        if cond in names.DATA_CONDITIONS and kind != "direct":
            raise ConfigError(
                f"{key}.condition",
                f"{cond!r} is a data condition (a set of example embeddings) for "
                f"the generator kind 'direct'; kind {kind!r} takes one of {list(names.CONDITIONS)}",
            )
        ident = (kind, cond, sampler)
        if ident in seen:
            raise ConfigError(key, f"the generator {ident} is listed twice")
        seen.add(ident)
    default_kind = generator_settings(config, prefix)[0][1]["kind"]
    if default_kind != "pdiff" and "analyses" in config.get("targets", []):
        raise ConfigError(
            f"{prefix}generator.kind",
            "the target analyses (sampling trajectories, the diffusion "
            "model's curves) is built on the diffusion generator (kind pdiff); compare the direct "
            f"kind with {prefix}compare_generators",
        )
    if prefix:
        return
    ablated = (config.get("ablations") or {}).get("direct", [])
    if "table_direct" in config.get("targets", []):
        if direct_setting(config) is None:
            raise ConfigError(
                "ablations.direct",
                "table_direct ablates the direct generator: set a generator of kind "
                "'direct' in 'generator' or 'compare_generators'",
            )
        bad = [r for r in ablated if not re.fullmatch(names.DIRECT_RE, r)]
        if bad or not ablated:
            raise ConfigError(
                "ablations.direct",
                f"expected direct recipes k<k>-<flat|layer>-w<exponent> "
                f"(e.g. [k8-layer-w0.75, k8-flat-w0]), found {bad or ablated}",
            )


def check_image(config: dict) -> None:
    """The image section's cross-field checks: folders, ranks, harvest sizes, style keys."""
    img = config["image"]
    clash = set(img["bases"]) & set(config.get("backbones") or {})
    if clash:
        raise ConfigError(
            "image.bases", f"keys {sorted(clash)} are also text backbones: use distinct names"
        )
    for key, spec in img["bases"].items():
        model = spec.get("model")
        if model and is_local_path(model) and not Path(model).expanduser().is_dir():
            raise ConfigError(f"image.bases.{key}.model", f"local folder {model!r} does not exist")
    for key, spec in img["styles"].items():
        folder = spec.get("folder")
        if folder and not Path(folder).expanduser().is_dir():
            raise ConfigError(f"image.styles.{key}.folder", f"folder {folder!r} does not exist")
    alphas = {str(k) for k in img["lora"]["alpha"]}
    for rank in img["lora"]["ranks"]:
        if str(rank) not in alphas:
            raise ConfigError("image.lora.alpha", f"no alpha for rank {rank}")
    ft = img["finetune"]
    if img["generator"]["n"] > ft["harvest_last"]:
        raise ConfigError(
            "image.generator.n",
            f"n={img['generator']['n']} exceeds image.finetune.harvest_last={ft['harvest_last']}",
        )
    if ft["steps"] < ft["harvest_last"] * ft["harvest_every"]:
        raise ConfigError(
            "image.finetune.steps",
            f"{ft['steps']} steps cannot hold harvest_last x harvest_every = "
            f"{ft['harvest_last']} x {ft['harvest_every']} checkpoints",
        )
    if len(img["styles"]) < 2:
        raise ConfigError("image.styles", "the generator needs at least two styles")
    pairs = img.get("interpolation", {}).get("pairs", [])
    for i, pair in enumerate(pairs):
        unknown = [s for s in pair if s not in img["styles"]]
        if unknown:
            raise ConfigError(
                f"image.interpolation.pairs[{i}]",
                f"{unknown} not among the configured styles {sorted(img['styles'])}",
            )
        if pair[0] == pair[1]:
            raise ConfigError(
                f"image.interpolation.pairs[{i}]", f"a pair needs two different styles, got {pair}"
            )
    for gen_key, gen in generator_settings(config, "image."):
        check_leave_one_out(
            config,
            "image.leave_one_out",
            img.get("leave_one_out", []),
            list(img["styles"]),
            gen["condition"],
            "table2_unseen",
            gen_key,
        )
    check_generators(config, "image.", list(names.IMAGE_CONDITIONS))
    if img["generator"].get("kind", "pdiff") != "pdiff" and "generalisation" in config.get(
        "targets", []
    ):
        raise ConfigError(
            "image.generator.kind",
            "the target generalisation trains its own diffusion generator "
            "(kind pdiff); compare the direct kind with image.compare_generators",
        )
    if "interpolation" in config.get("targets", []) and not pairs:
        raise ConfigError(
            "image.interpolation.pairs",
            "the target interpolation needs at least one pair of styles",
        )
    check_generalisation(config)


def check_generalisation(config: dict) -> None:
    """``image.generalisation``: a pair of two different configured styles (or an interpolation
    pair to default to) and three different noise seeds (the schema checks the generator
    overrides' keys)."""
    img = config["image"]
    g = img.get("generalisation") or {}
    pair = g.get("pair") or []
    wanted = "generalisation" in config.get("targets", [])
    if pair:
        unknown = [s for s in pair if s not in img["styles"]]
        if len(pair) != 2 or unknown or pair[0] == pair[1]:
            raise ConfigError(
                "image.generalisation.pair",
                f"expected two different configured styles "
                f"({', '.join(img['styles'])}), got {pair}"
                + (f" ({unknown} unknown)" if unknown else ""),
            )
    elif wanted and not img.get("interpolation", {}).get("pairs"):
        raise ConfigError(
            "image.generalisation.pair",
            "the target generalisation needs a pair of styles: set it, or "
            "image.interpolation.pairs (its first pair is the default)",
        )
    seeds = {
        "image.generation.seed": img.get("generation", {}).get("seed", 0),
        "image.generalisation.condition_seed": g.get("condition_seed", 1000),
        "image.generalisation.reference_seed": g.get("reference_seed", 2000),
    }
    if len(set(seeds.values())) != len(seeds):
        raise ConfigError(
            "image.generalisation.condition_seed",
            f"the condition, reference and evaluation images need "
            f"three different noise seeds, got {seeds}",
        )


def fill_defaults(config: dict, schema: dict) -> None:
    """Fill in the schema's defaults in place, as Snakemake's ``validate(set_default=True)``
    does."""
    base = jsonschema.Draft202012Validator

    def set_defaults(validator, properties, instance, schema):
        if isinstance(instance, dict):
            for key, sub in properties.items():
                if "default" in sub:
                    instance.setdefault(key, sub["default"])
        yield from base.VALIDATORS["properties"](validator, properties, instance, schema)

    jsonschema.validators.extend(base, {"properties": set_defaults})(schema).validate(config)


def check(
    config: dict, schema_path: str | Path, task_lookup: Callable[[str, dict], object]
) -> dict:
    """Schema, then the schema's defaults filled in (as Snakemake's validate() does in the
    workflow), then semantics; returns the schema (with names filled in)."""
    schema = load_schema(schema_path)
    check_schema(config, schema)
    fill_defaults(config, schema)
    check_semantics(config, task_lookup)
    return schema


def merge(base: dict, overlay: dict) -> dict:
    """`overlay` merged into `base` key by key, recursively (Snakemake's ``--configfile a b``)."""
    out = dict(base)
    for key, value in overlay.items():
        out[key] = (
            merge(out[key], value)
            if isinstance(value, dict) and isinstance(out.get(key), dict)
            else value
        )
    return out


def load_config(
    paths: list[str | Path],
    task_lookup: Callable[[str, dict], object],
    schema_path: str | Path | None = None,
) -> dict:
    """The config the workflow sees for ``--configfile *paths``: merged, checked, defaults filled
    in (`task_lookup` as in ``check_semantics``: ``condpdiff.text.tasks.get_task``)."""
    config: dict = {}
    for path in paths:
        loaded = yaml.safe_load(Path(path).read_text()) or {}
        if not isinstance(loaded, dict):
            raise ConfigError(
                "<top level>",
                f"{path}: expected a mapping of config keys, found {type(loaded).__name__}",
            )
        config = merge(config, loaded)
    check(
        config,
        schema_path or Path(__file__).resolve().parents[2] / "workflow/schemas/config.schema.yaml",
        task_lookup,
    )
    return config
