"""Targets that are figures (PNGs and the data behind them), not tables: each is a target rule
(``snakemake analyses``) and a name config ``targets`` may list beside the tables.

Kept apart from ``pipeline.names``, which entry points import: adding a figure target must not
change their code hash (and with it mark every cached result stale).
"""

from __future__ import annotations

# name -> the branch it needs: "text", "image" or "any" (whichever the config has)
FIGURE_TARGETS = {
    # the paper's analyses: nearest checkpoint, parameter projection, trajectory, curves
    "analyses": "any",
    # theta(l) = (1 - l) theta_1 + l theta_2 between two styles: strips and FID curves
    "interpolation": "image",
    # M interpolated LoRAs: train on l in [0.1, 0.2) U ..., test on the gaps vs retrieval
    "generalisation": "image",
}


def figure_target_files(config: dict, name: str) -> list[str]:
    """Every file of a figure target: its PNGs and the data behind them."""
    if name == "analyses":
        from condpdiff.pipeline.analysis_targets import analysis_files

        return analysis_files(config)
    if name == "interpolation":
        from condpdiff.pipeline.image_targets import interpolation_files

        return interpolation_files(config)
    if name == "generalisation":
        from condpdiff.pipeline.image_targets import generalisation_files

        return generalisation_files(config)
    raise ValueError(f"unknown figure target {name!r}: expected one of {list(FIGURE_TARGETS)}")
