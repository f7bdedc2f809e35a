"""Which cell files make each table (the inputs of the rule ``make_table``), from a validated
config.

A table *spec* names every cell file; ``condpdiff.evaluate.make_table`` reads it. The cell files
live where ``pipeline.paths`` puts them; ``cell_path`` maps a cell kind and a generator setting to
its file.
"""

from __future__ import annotations

import json

from condpdiff.pipeline import generate_for
from condpdiff.pipeline.arms_targets import arm_rows, seeds_note
from condpdiff.pipeline.figure_targets import FIGURE_TARGETS, figure_target_files
from condpdiff.pipeline.generators import direct_setting, draw_wildcards, generator_rows
from condpdiff.pipeline.paths import (
    Paths,
    first_seeds,
    seed_wildcards,
    selection_part,
    selection_wildcards,
    unseen_part,
)
from condpdiff.pipeline.tables import IMAGE_TABLES, TABLES

CELL_KINDS = ("generated", "original", "soup", "recon", "cross", "nolora", "memorisation")
UNSEEN_COLUMNS = ("unseen", "seen", "original", "nolora")  # table_unseen / table2_unseen
TABLE_FORMATS = (
    "csv",
    "md",
    "html",
)  # what make_table writes per table (the report shows the HTML)
ABLATION_TITLES = {
    "table3": "Table 3: number of harvested checkpoints N",
    "table4a": "Table 4a: parameter normalisation",
    "table4b": "Table 4b: condition",
    "table4c": "Table 4c: generated layers",
    "table_sampler": "Sampler: DDIM vs DDPM",
    "table_direct": "Direct generator: arrangement and per-layer loss weight exponent (its recipe)",
}


def selection_dir(config: dict) -> str:
    """``sel{k}-seed{s}[-heldout]``: the selection split of the (validated) config's `scoring`."""
    s = config["scoring"]
    return selection_part(
        s["selection_examples"], s["selection_seed"], s["selection_from"], s["selection_race"]
    )


def cell_path(results: str, kind: str, backbone: str, rank, task: str, setting: dict) -> str:
    """The cell file of `kind` for one backbone x rank x task at a generator `setting`.

    `setting` holds n, layers, norm, kind, condition, sampler and (generated, cross, memorisation)
    ``selection`` (a `selection_dir` part) and (cross) ``source``; ``unseen``, where given, names
    the task the generator was trained without (leave-one-out); ``ftseed`` / ``genseed`` (ints,
    default 0) the fine-tune and generator seeds; ``control`` ("", noise, null, shuffled) an audit
    arm's draw instead of the generator's own candidates.
    """
    P = Paths(results)
    w = {"backbone": backbone, "rank": rank, "task": task, "n": setting["n"]}
    w.update(seed_wildcards(setting))
    if kind in ("original", "soup"):
        return P.baseline(kind, **w)
    if kind == "nolora":
        return P.nolora("nolora", **w)
    w.update(
        layers=setting["layers"], norm=setting["norm"], unseen=unseen_part(setting.get("unseen"))
    )
    if kind == "recon":
        return P.recon_scores("recon", **w)
    if kind not in ("generated", "cross", "memorisation"):
        raise ValueError(f"unknown cell kind {kind!r}: expected one of {CELL_KINDS}")
    if "selection" not in setting:
        raise ValueError(
            f"a {kind} cell path needs the selection split (setting['selection'],"
            " e.g. 'sel1000-seed0')"
        )
    w.update(draw_wildcards(setting))
    w.update(selection_wildcards(setting["selection"]))
    if kind == "memorisation":
        return P.memorisation(**w)
    if kind == "generated" or setting["source"] == task:
        return P.generated(**w)
    return P.cross("cross", source=setting["source"], **w)


def unseen_cells(results: str, backbone: str, rank, task: str, setting: dict) -> dict:
    """The cells of one task in the leave-one-out tables: unseen / seen / original / no LoRA."""
    return {
        "unseen": cell_path(
            results, "generated", backbone, rank, task, {**setting, "unseen": task}
        ),
        "seen": cell_path(results, "generated", backbone, rank, task, setting),
        "original": cell_path(results, "original", backbone, rank, task, setting),
        "nolora": cell_path(results, "nolora", backbone, rank, task, setting),
    }


def ablation_base(config: dict) -> tuple[str, int]:
    """(backbone, rank) the ablations run on: config `ablations`, else the first of each."""
    ab = config["ablations"]
    return ab.get("backbone", next(iter(config["backbones"]))), ab.get(
        "rank", config["lora"]["ranks"][0]
    )


def table_spec(config: dict, name: str) -> dict:
    """The spec condpdiff.evaluate.make_table reads for table `name`: rows, tasks, columns,
    cell files."""
    if name not in TABLES:
        raise ValueError(f"unknown table {name!r}: expected one of {list(TABLES)}")
    if name in IMAGE_TABLES:
        from condpdiff.pipeline.image_targets import image_table_spec

        return image_table_spec(config, name)
    if not config.get("tasks"):
        raise ValueError(
            f"table {name!r} is a text table, but the config lists no text tasks (config key"
            f" 'tasks'); image tables: {list(IMAGE_TABLES)}"
        )
    results, tasks = config["results_dir"], list(config["tasks"])
    sel = selection_dir(config)
    first = first_seeds(config)  # every table but table1 runs the first seed of each list
    gen = {**config["generator"], "selection": sel, **first}
    pairs = [(b, r) for b in config["backbones"] for r in config["lora"]["ranks"]]
    setting_note = (
        f"generator setting: {json.dumps(config['generator'], sort_keys=True)};"
        f" generated = best of the candidates on the selection split {sel}"
        " (training examples, seed)"
    )
    kind = "plain"
    if name == "table1":
        columns, kind = ["score"], "arms"
        rows = [
            row
            for b, r in pairs
            for label, g in generator_rows(config)
            for row in arm_rows(
                config,
                {"backbone": b, "rank": r, **label},
                tasks,
                lambda k, t, extra, b=b, r=r, g=g: cell_path(
                    results, k, b, r, t, {**g, "selection": sel, **extra}
                ),
            )
        ]
        title = "Table 1: generated (Cond P-Diff) beside the audit's arms, original, soup, no LoRA"
        note = f"{setting_note}; {seeds_note(config)}"
    elif name == "table_recon":
        columns = ["recon", "recon_mean", "original", "original_mean"]
        rows = []
        for b, r in pairs:
            cells = {}
            for t in tasks:
                recon, orig = (
                    cell_path(results, "recon", b, r, t, gen),
                    cell_path(results, "original", b, r, t, gen),
                )
                cells[t] = {
                    "recon": recon,
                    "recon_mean": {"path": recon, "field": "mean"},
                    "original": orig,
                    "original_mean": {"path": orig, "field": "mean"},
                }
            rows.append({"label": {"backbone": b, "rank": r}, "cells": cells})
        title = "Autoencoder reconstructions vs original checkpoints"
        note = (
            "best / mean dev score over the reconstructions of the last n checkpoints and over"
            f" those checkpoints; {setting_note}"
        )
    elif name == "table_unseen":
        left_out = list(config["leave_one_out"])
        if not left_out:
            raise ValueError("table_unseen: config 'leave_one_out' lists no task to leave out")
        tasks, columns = left_out, list(UNSEEN_COLUMNS)
        rows = [
            {
                "label": {"backbone": b, "rank": r, **label},
                "cells": {
                    t: unseen_cells(results, b, r, t, {**g, "selection": sel, **first})
                    for t in tasks
                },
            }
            for b, r in pairs
            for label, g in generator_rows(config)
        ]
        title = (
            "Unseen tasks (leave-one-out): generated for a task the generator never saw / seen /"
            " original / no LoRA"
        )
        note = (
            "unseen = the candidate selected for the task from a generator trained WITHOUT it (its"
            " stats, autoencoder and diffusion saw no checkpoint of it; it is denormalised with the"
            " other tasks' pooled stats and conditioned on its own condition); seen = the same cell"
            " from the generator of every task (table1's generated); original = best of its"
            " checkpoints on dev; no LoRA = its head (last checkpoint's) on the base model with"
            f" every LoRA weight zero. {setting_note}"
        )
    elif name == "table_cross":
        b, r = ablation_base(config)
        columns, kind = ["score"], "cross"
        rows = [
            {
                "label": {"generated_for": source},
                "cells": {
                    t: {"score": cell_path(results, "cross", b, r, t, {**gen, "source": source})}
                    for t in tasks
                },
            }
            for source in tasks
        ]
        title = (
            f"Cross-task condition check ({b}, r={r}): row = condition the LoRA was generated for,"
            " column = task scored"
        )
        note = (
            "each cell: the candidate selected for the row's task, with the column task's head (its"
            " last checkpoint's), dev score; the diagonal is the generated cell of table1 and must"
            " win its column."
            f" {setting_note}"
        )
    elif name == "table_direct":
        b, r = ablation_base(config)
        base = {**direct_setting(config), "selection": sel, **first}
        columns, kind = ["generated", "original"], "ablation"
        rows = [
            {
                "label": {"recipe": recipe},
                "cells": {
                    t: {
                        k: cell_path(results, k, b, r, t, {**base, "sampler": recipe})
                        for k in columns
                    }
                    for t in tasks
                },
            }
            for recipe in config["ablations"]["direct"]
        ]
        title = f"{ABLATION_TITLES[name]} ({b}, r={r}, condition {base['condition']})"
        note = (
            "recipe k<k>-<arrangement>-w<exponent>: k condition items pooled per draw; flat = every"
            " coordinate normalised by the stats file, layer = each LoRA tensor standardised with"
            " its own mean/std, predicted too; w = exponent of the per-layer loss weight (the"
            " layer's across-task variance share), 0 = plain MSE. Other settings:"
            f" {json.dumps({k: v for k, v in base.items() if k != 'sampler'}, sort_keys=True)};"
            " original = best dev of the last n checkpoints"
        )
    else:
        field, title = TABLES[name], ABLATION_TITLES[name]
        b, r = ablation_base(config)
        columns, kind = ["generated", "original"], "ablation"
        rows = []
        for value in config["ablations"].get(field, [gen[field]]):
            setting = {**gen, field: value}
            cells = {
                t: {k: cell_path(results, k, b, r, t, setting) for k in columns} for t in tasks
            }
            rows.append({"label": {field: value}, "cells": cells})
        title = f"{title} ({b}, r={r})"
        note = (
            f"other settings as the default {setting_note}; original = best dev of the last n"
            " checkpoints"
        )
    return {
        "name": name,
        "title": title,
        "note": note,
        "tasks": tasks,
        "columns": columns,
        "rows": rows,
        "kind": kind,
    }


def entry_files(entry) -> list[str]:
    """The cell files of one spec entry: a path, ``{"path": ...}``, ``{"replicates": [...]}`` or
    ``{"diff": [[a, b], ...]}`` (evaluate.arms_table)."""
    if isinstance(entry, str):
        return [entry]
    if "replicates" in entry:
        return [f for e in entry["replicates"] for f in entry_files(e)]
    if "diff" in entry:
        return [f for pair in entry["diff"] for e in pair for f in entry_files(e)]
    return [entry["path"]]


def table_files(spec: dict) -> list[str]:
    """Every cell file a table reads (its rule's inputs)."""
    files = set()
    for row in spec["rows"]:
        for cells in row["cells"].values():
            for entry in cells.values():
                files.update(entry_files(entry))
    return sorted(files)


def all_targets(config: dict) -> list[str]:
    """The tables named in config `targets` (CSV, Markdown, HTML each), the figure targets' files
    and the adapters of config `generate_for` (none when it lists no entry)."""
    P = Paths(config["results_dir"])
    out = [
        P.table(ext, table=name)
        for name in config["targets"]
        if name in TABLES
        for ext in TABLE_FORMATS
    ]
    out += [
        f
        for name in config["targets"]
        if name in FIGURE_TARGETS
        for f in figure_target_files(config, name)
    ]
    if "table2" in config["targets"]:
        from condpdiff.pipeline.image_targets import figure_files

        out += figure_files(config)
    return out + generate_for.adapter_folders(config)
