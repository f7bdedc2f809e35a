"""Where every cell file lives, and which cells make each table (used by workflow/rules/evaluate.smk).

Cell paths (``R`` = ``results_dir``; see docs/formats.md):

- ``R/scores/{backbone}/r{rank}/{task}/harvest_scores.json``                       every harvested checkpoint, dev
- ``R/scores/{backbone}/r{rank}/n{n}/{task}/original.json``                       best dev of the last n
- ``R/scores/{backbone}/r{rank}/n{n}/{task}/soup.json`` (+ ``soup_scores.json``)  mean of the last n
- ``R/scores/{backbone}/r{rank}/n{n}/layers-{layers}/norm-{norm}/cond-{condition}/{sampler}/{task}/``
  ``candidate_scores.json`` (dev of every candidate), and under ``sel{k}-seed{s}/`` (the selection
  split: k training examples drawn with seed s) ``selection_scores.json`` and ``generated.json``
- ``.../{task}/sel{k}-seed{s}/from-{source}/cross.json``: the candidate selected for ``source``,
  scored on ``task`` (the cross-task condition check, ``table_cross``)
- ``R/scores/{backbone}/r{rank}/n{n}/layers-{layers}/norm-{norm}/autoencoder/{task}/``
  ``recon_scores.json`` and ``recon.json``
"""

from __future__ import annotations

import json
import shlex

from condpdiff.score import ScoringConfig

CELL_KINDS = ("generated", "original", "soup", "recon", "cross")
TABLES = ("table1", "table3", "table4a", "table4b", "table4c", "table_sampler", "table_recon", "table_cross")
ABLATIONS = {
    "table3": ("n", "Table 3: number of harvested checkpoints N"),
    "table4a": ("norm", "Table 4a: parameter normalisation"),
    "table4b": ("condition", "Table 4b: condition"),
    "table4c": ("layers", "Table 4c: generated layers"),
    "table_sampler": ("sampler", "Sampler: DDIM vs DDPM"),
}


def setting_dir(results: str, backbone: str, rank, setting: dict) -> str:
    return f"{results}/scores/{backbone}/r{rank}/n{setting['n']}/layers-{setting['layers']}/norm-{setting['norm']}"


def selection_dir(config: dict) -> str:
    """``sel{k}-seed{s}``: the selection split of config `scoring` (its size and seed), as a path part.

    ``-heldout`` is appended when it is drawn from the training examples fine-tuning left out.
    """
    scoring, d = config.get("scoring", {}) or {}, ScoringConfig()
    size = scoring.get("selection_examples", d.selection_examples)
    seed = scoring.get("selection_seed", d.selection_seed)
    pool = "-heldout" if scoring.get("selection_from", d.selection_from) == "heldout" else ""
    return f"sel{size}-seed{seed}{pool}"


def cell_path(results: str, kind: str, backbone: str, rank, task: str, setting: dict) -> str:
    """The cell file of `kind` for one backbone x rank x task at a generator `setting` (n, layers, norm, ...).

    `generated` and `cross` cells also need ``setting["selection"]`` (see `selection_dir`).
    """
    if kind in ("original", "soup"):
        return f"{results}/scores/{backbone}/r{rank}/n{setting['n']}/{task}/{kind}.json"
    if kind == "recon":
        return f"{setting_dir(results, backbone, rank, setting)}/autoencoder/{task}/recon.json"
    if kind not in ("generated", "cross"):
        raise ValueError(f"unknown cell kind {kind!r}: expected one of {CELL_KINDS}")
    if "selection" not in setting:
        raise ValueError(f"a {kind} cell path needs the selection split (setting['selection'], e.g. 'sel1000-seed0')")
    scored = (
        f"{setting_dir(results, backbone, rank, setting)}/cond-{setting['condition']}/{setting['sampler']}"
        f"/{task}/{setting['selection']}"
    )
    if kind == "generated":
        return f"{scored}/generated.json"
    source = setting["source"]
    return f"{scored}/generated.json" if source == task else f"{scored}/from-{source}/cross.json"


def ablation_base(config: dict) -> tuple[str, int]:
    """(backbone, rank) the ablations run on: config `ablations`, else the first of each."""
    ab = config.get("ablations", {}) or {}
    return ab.get("backbone", next(iter(config["backbones"]))), ab.get("rank", config["lora"]["ranks"][0])


def table_spec(config: dict, name: str) -> dict:
    """The spec condpdiff.tables reads for table `name`: rows, tasks, columns and every cell file."""
    results, tasks = config["results_dir"], list(config["tasks"])
    sel = selection_dir(config)
    gen = {**config["generator"], "selection": sel}
    pairs = [(b, r) for b in config["backbones"] for r in config["lora"]["ranks"]]
    setting_note = (
        f"generator setting: {json.dumps(config['generator'], sort_keys=True)};"
        f" generated = best of the candidates on the selection split {sel} (training examples, seed)"
    )
    if name == "table1":
        columns = ["generated", "original", "soup"]
        rows = [
            {
                "label": {"backbone": b, "rank": r},
                "cells": {t: {k: cell_path(results, k, b, r, t, gen) for k in columns} for t in tasks},
            }
            for b, r in pairs
        ]
        title, note = "Table 1: generated (Cond P-Diff) / original / model soup", setting_note
    elif name == "table_recon":
        columns = ["recon", "recon_mean", "original", "original_mean"]
        rows = []
        for b, r in pairs:
            cells = {}
            for t in tasks:
                recon, orig = cell_path(results, "recon", b, r, t, gen), cell_path(results, "original", b, r, t, gen)
                cells[t] = {
                    "recon": recon,
                    "recon_mean": {"path": recon, "field": "mean"},
                    "original": orig,
                    "original_mean": {"path": orig, "field": "mean"},
                }
            rows.append({"label": {"backbone": b, "rank": r}, "cells": cells})
        title = "Autoencoder reconstructions vs original checkpoints"
        note = f"best / mean dev score over the reconstructions of the last n checkpoints and over those checkpoints; {setting_note}"
    elif name == "table_cross":
        b, r = ablation_base(config)
        columns = ["score"]
        rows = [
            {
                "label": {"generated_for": source},
                "cells": {t: {"score": cell_path(results, "cross", b, r, t, {**gen, "source": source})} for t in tasks},
            }
            for source in tasks
        ]
        title = f"Cross-task condition check ({b}, r={r}): row = condition the LoRA was generated for, column = task scored"
        note = (
            "each cell: the candidate selected for the row's task, with the column task's head (its last"
            " checkpoint's), dev score; the diagonal is the generated cell of table1 and must win its column."
            f" {setting_note}"
        )
    elif name in ABLATIONS:
        field, title = ABLATIONS[name]
        b, r = ablation_base(config)
        columns = ["generated", "original"]
        rows = []
        for value in (config.get("ablations", {}) or {}).get(field, [gen[field]]):
            setting = {**gen, field: value}
            cells = {t: {k: cell_path(results, k, b, r, t, setting) for k in columns} for t in tasks}
            rows.append({"label": {field: value}, "cells": cells})
        title = f"{title} ({b}, r={r})"
        note = f"other settings as the default {setting_note}; original = best dev of the last n checkpoints"
    else:
        raise ValueError(f"unknown table {name!r}: expected one of {TABLES}")
    return {"name": name, "title": title, "note": note, "tasks": tasks, "columns": columns, "rows": rows}


def table_files(spec: dict) -> list[str]:
    """Every cell file a table reads (its rule's inputs)."""
    files = set()
    for row in spec["rows"]:
        for cells in row["cells"].values():
            for entry in cells.values():
                files.add(entry if isinstance(entry, str) else entry["path"])
    return sorted(files)


def table_arg(config: dict, name: str) -> str:
    """The spec as one shell-quoted JSON argument."""
    return shlex.quote(json.dumps(table_spec(config, name), sort_keys=True))


def scoring_flags(config: dict, splits) -> str:
    """--flags for condpdiff.score: config `scoring`, falling back to fine-tuning's dev settings.

    The selection split's size and seed are not among them: they are in the selection cache's
    path (`selection_dir`), and its rule passes them from there.
    """
    scoring, ft, d = config.get("scoring", {}) or {}, config.get("finetune", {}) or {}, ScoringConfig()
    settings = {
        "batch_size": scoring.get("batch_size", d.batch_size),
        "max_length": scoring.get("max_length", ft.get("max_length", d.max_length)),
        "mixed_precision": scoring.get("mixed_precision", d.mixed_precision),
    }
    if "dev" in splits:
        settings["max_dev_examples"] = scoring.get("max_dev_examples", ft.get("max_dev_examples"))
        settings["dev_seed"] = ft.get("seed", d.dev_seed)
    flags = ["--splits " + " ".join(splits)]
    for key, value in settings.items():
        flags.append(f"--{key.replace('_', '-')} {shlex.quote('none' if value is None else str(value))}")
    return " ".join(flags)


def scoring_head(config: dict) -> str:
    return (config.get("scoring", {}) or {}).get("head", "last_checkpoint")
