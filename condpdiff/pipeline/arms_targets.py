"""The rows of a seeded table in the arms layout (Table 1 and Table 2; read by
``condpdiff.evaluate.arms_table``), for one block (backbone x rank x generator setting), from the
config's seeds and audit arms (no torch, no domain: the caller says where each cell file is).

Rows: ``generated``, the audit arms configured (``noise``, ``null condition``, ``shuffled
condition``), ``original``, ``soup``, ``no LoRA``, the paired differences ``generated - original``,
``generated - soup``, ``generated - noise`` / ``- null`` / ``- shuffled``, and ``memorisation``.
Replicates: the generated-like arms (generated, the audit arms, memorisation) over every pair
(fine-tune seed f, generator seed g); original / soup / no LoRA over f (a cell whose file is the
same for every f, as the image branch's no-LoRA base, is one replicate). A difference pairs
generated(f, g) with the other arm's (f, g), or (f) for original and soup. Each entry's
``groups`` are the fine-tune seeds (``intervals.nested_interval``'s independent units).
"""

from __future__ import annotations

from collections.abc import Callable

# audit arm (config `audit.arms`, the path part `control`) -> its row label and its difference's
AUDIT_ARMS = {"noise": "noise", "null": "null condition", "shuffled": "shuffled condition"}
BASELINES = {"original": "original", "soup": "soup", "nolora": "no LoRA"}
DEFAULT_SEEDS = [0]

# cell(kind, task, extra) -> the cell file; kind: generated / original / soup / nolora /
# memorisation; extra: {"ftseed": f, "genseed": g, "control": "" | noise | null | shuffled}
CellFn = Callable[[str, str, dict], str]


def seed_lists(config: dict) -> tuple[list[int], list[int]]:
    """(fine-tune seeds, generator seeds) of config `seeds` (each [0] where not given)."""
    seeds = config.get("seeds") or {}
    return list(seeds.get("finetune") or DEFAULT_SEEDS), list(
        seeds.get("generator") or DEFAULT_SEEDS
    )


def audit_arms(config: dict) -> list[str]:
    """The audit arms config `audit.arms` turns on (default: all), in the tables' order."""
    arms = (config.get("audit") or {}).get("arms", list(AUDIT_ARMS))
    unknown = [a for a in arms if a not in AUDIT_ARMS]
    if unknown:
        raise ValueError(
            f"config key 'audit.arms': unknown arm(s) {unknown}; expected some of"
            f" {list(AUDIT_ARMS)}"
        )
    return [a for a in AUDIT_ARMS if a in arms]


def seeds_note(config: dict, unit: str = "task") -> str:
    """What the replicates and the arms of an arms table are (its note)."""
    ft, gen = seed_lists(config)
    arms = audit_arms(config)
    what = {
        "noise": "noise = the training checkpoint nearest to the selected candidate plus Gaussian"
        " noise of the candidate's distance to it (sampling.num_candidates copies, selected like"
        " the candidates)",
        "null": "null condition = candidates sampled with a zero condition",
        "shuffled": f"shuffled condition = sampled with the next {unit}'s condition",
    }
    return (
        f"replicates: fine-tune seeds {ft} x generator seeds {gen} (original, soup, no LoRA: per"
        " fine-tune seed); audit arms (arXiv 2506.07998): "
        + ("; ".join(what[a] for a in arms) if arms else "none configured")
        + "; memorisation = the selected candidate's distance to its nearest training checkpoint"
        " over the median nearest-neighbour distance among those checkpoints"
    )


def _replicates(paths: list[str], groups: list[int]) -> dict:
    if len(set(paths)) == 1:  # the same file for every seed: one replicate, not n copies of it
        return {"replicates": paths[:1], "groups": groups[:1]}
    return {"replicates": paths, "groups": groups}


def arm_rows(config: dict, label: dict, tasks: list[str], cell: CellFn) -> list[dict]:
    """The rows of one block (`label`: its backbone, rank and generator labels) for `tasks`."""
    ft, gen = seed_lists(config)
    pairs = [(f, g) for f in ft for g in gen]
    groups = [f for f, _ in pairs]
    arms = audit_arms(config)

    def generated_like(kind: str, control: str, task: str) -> list[str]:
        """The cell of every pair (f, g)."""
        return [cell(kind, task, {"ftseed": f, "genseed": g, "control": control}) for f, g in pairs]

    def baseline(kind: str, task: str, seeds: list[int]) -> list[str]:
        """The cell of each fine-tune seed in `seeds` (generator seed and arm do not apply)."""
        return [cell(kind, task, {"ftseed": f, "genseed": 0, "control": ""}) for f in seeds]

    rows = []

    def add(arm: str, role: str, entry_of: Callable[[str], dict]) -> None:
        cells = {t: {"score": entry_of(t)} for t in tasks}
        rows.append({"label": {**label, "arm": arm}, "role": role, "cells": cells})

    def replicates_of(kind: str, control: str = "") -> Callable[[str], dict]:
        return lambda t: _replicates(generated_like(kind, control, t), groups)

    add("generated", "arm", replicates_of("generated"))
    for control in arms:
        add(AUDIT_ARMS[control], "arm", replicates_of("generated", control))
    for kind, name in BASELINES.items():
        add(name, "arm", lambda t, k=kind: _replicates(baseline(k, t, ft), list(ft)))
    # what generated(f, g) is paired with: original(f) / soup(f), or the audit arm's (f, g)
    others = {k: (lambda t, k=k: baseline(k, t, groups)) for k in ("original", "soup")}
    others |= {c: (lambda t, c=c: generated_like("generated", c, t)) for c in arms}
    for name, files in others.items():
        add(
            f"generated - {name}",
            "difference",
            lambda t, files=files: {
                "diff": [[a, b] for a, b in zip(generated_like("generated", "", t), files(t))],
                "groups": groups,
            },
        )
    add("memorisation", "measure", replicates_of("memorisation"))
    return rows
