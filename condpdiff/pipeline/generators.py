"""The generator settings a config names: the default one (`generator`, `image.generator`) and the
ones compared with it (`compare_generators`, `image.compare_generators`), read from a validated
config (no torch).

A compared setting takes n, norm and layers from the default one and names its own kind, condition
and sampler (for kind direct: its recipe), so the tables show the generators side by side on the
same checkpoints, stats and scoring. In a path the sampler and the recipe are each their own part
(`draw_wildcards`).
"""

from __future__ import annotations

from condpdiff.pipeline.paths import draw_part


def generator_settings(config: dict, prefix: str = "") -> list[tuple[str, dict]]:
    """(config key, setting) of the default generator and each compared one (`prefix` "image." for
    images); a compared setting takes n, norm and layers from the default."""
    section = config["image"] if prefix else config
    gen = section["generator"]
    out = [(f"{prefix}generator", {"kind": "pdiff", **gen})]
    for i, other in enumerate(section.get("compare_generators", [])):
        out.append((f"{prefix}compare_generators[{i}]", {**gen, **other}))
    return out


def draw_wildcards(setting: dict) -> dict:
    """The path wildcards kind, condition and draw of a generator `setting`: ``draw`` is kind
    pdiff's sampler (``ddim50``) or ``recipe-<recipe>`` of kind direct (whose config key `sampler`
    holds the recipe), followed by the audit arm of the optional key ``control`` ("", noise, null,
    shuffled: ``ddim50-noise``); no kind is the default generator's, pdiff."""
    kind = setting.get("kind", "pdiff")
    draw = draw_part(kind, setting["sampler"], setting.get("control", ""))
    return {"kind": kind, "condition": setting["condition"], "draw": draw}


def direct_setting(config: dict, prefix: str = "") -> dict | None:
    """The first generator setting of kind direct (default, then compared), or None."""
    return next((s for _, s in generator_settings(config, prefix) if s["kind"] == "direct"), None)


def generator_rows(config: dict, prefix: str = "") -> list[tuple[dict, dict]]:
    """(row label part, setting) of each generator a table shows side by side: the default one, then
    ``compare_generators``; the label is empty when there is only the default one (the tables stay
    as they were)."""
    settings = [s for _, s in generator_settings(config, prefix)]
    if len(settings) == 1:
        return [({}, settings[0])]
    return [({"generator": f"{s['kind']} {s['condition']} {s['sampler']}"}, s) for s in settings]
