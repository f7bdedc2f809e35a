"""Config ``generate_for``: new conditions (text tasks given by labelled examples, styles given by a
folder of images) that the default generator makes an adapter for, with ``condpdiff generate`` and
no fine-tuning (rule ``generate_adapter``, target ``generated_adapters``). No torch.

Text entries use ``generator`` on every text backbone x rank, image entries ``image.generator``
on every image base x rank; each adapter lands at ``Paths.generated_adapter``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

from condpdiff.pipeline import names
from condpdiff.pipeline.generators import draw_wildcards, generator_settings
from condpdiff.pipeline.paths import Paths, first_seeds, seed_wildcards

BRANCHES = ("text", "images")


def entries(config: dict, branch: str) -> dict:
    """The `generate_for` entries of `branch` (text or images), name -> spec."""
    return (config.get("generate_for") or {}).get(branch) or {}


def entry_names(config: dict) -> list[str]:
    """Every entry name, text then images (the rule's ``{entry}`` constraint)."""
    return [name for branch in BRANCHES for name in entries(config, branch)]


def _targets(config: dict, branch: str) -> Iterator[tuple[dict, list[str], list]]:
    """(default generator setting, backbones, ranks) of `branch`, if it has entries."""
    if not entries(config, branch):
        return
    if branch == "text":
        yield generator_settings(config)[0][1], list(config["backbones"]), config["lora"]["ranks"]
    else:
        img = config["image"]
        yield generator_settings(config, "image.")[0][1], list(img["bases"]), img["lora"]["ranks"]


def adapter_folders(config: dict) -> list[str]:
    """The adapter folder of every entry on every backbone (or image base) x rank of its branch,
    made by the generator of the first seed of each config ``seeds`` list."""
    P = Paths(config["results_dir"])
    out = []
    for branch in BRANCHES:
        for setting, backbones, ranks in _targets(config, branch):
            fixed = {k: setting[k] for k in ("n", "layers", "norm")}
            fixed.update(draw_wildcards(setting), unseen="")
            fixed.update(seed_wildcards(first_seeds(config)))
            out += [
                P.generated_adapter(backbone=b, rank=r, entry=name, **fixed)
                for b in backbones
                for r in ranks
                for name in entries(config, branch)
            ]
    return out


def _label_sets(config: dict, task_lookup: Callable[[str, dict], object]) -> list[int] | None:
    """The label sets of the text tasks the generator is trained on (None: a task is unknown,
    which the check of `tasks` reports)."""
    try:
        return sorted({int(task_lookup(t, config).num_labels) for t in config["tasks"]})
    except KeyError:
        return None


def problems(config: dict, task_lookup: Callable[[str, dict], object]) -> Iterator[tuple[str, str]]:
    """(dotted key, problem) for each `generate_for` entry its job would fail on."""
    text, images = entries(config, "text"), entries(config, "images")
    if text and not config.get("tasks"):
        yield "generate_for.text", "text entries need the text generator: the config has no 'tasks'"
    if images and not config.get("image"):
        yield "generate_for.images", "style entries need the image generator: no 'image' section"
    if text and config.get("tasks"):
        cond = generator_settings(config)[0][1]["condition"]
        if cond not in names.CONTENT_CONDITIONS:
            yield (
                "generate_for.text",
                f"the default generator's condition {cond!r} (generator.condition) is an index of "
                "its training tasks, which a new task does not have: use one of "
                f"{[c for c in names.CONTENT_CONDITIONS if c not in names.IMAGE_CONDITIONS]}",
            )
        sets = _label_sets(config, task_lookup)
        for name, spec in text.items():
            key = f"generate_for.text.{name}"
            if not Path(spec["examples"]).expanduser().is_file():
                yield (
                    f"{key}.examples",
                    f"file {spec['examples']!r} does not exist: expected a TSV of labelled "
                    "examples in the GLUE layout",
                )
            if cond in names.CONDITIONS and not spec.get("description"):
                yield (
                    f"{key}.description",
                    f"the generator's condition {cond!r} embeds the task description: required",
                )
            nl = spec.get("num_labels")
            if sets and nl is not None and nl not in sets:
                yield (
                    f"{key}.num_labels",
                    f"{nl} is not a label set of the generator's tasks; expected one of {sets}",
                )
            if sets and nl is None and len(sets) > 1:
                yield (
                    f"{key}.num_labels",
                    f"required: the generator's tasks have {sets} labels (1 = regression)",
                )
    if images and config.get("image"):  # every image condition is computed from the images
        for name, spec in images.items():
            if not Path(spec["folder"]).expanduser().is_dir():
                yield (
                    f"generate_for.images.{name}.folder",
                    f"folder {spec['folder']!r} does not exist: expected a folder of style images",
                )
