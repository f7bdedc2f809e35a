"""Build the generalisation set: M LoRAs theta(l) = (1 - l) theta_1 + l theta_2 between two styles.

theta_1 and theta_2 are the two styles' LAST harvested checkpoints (the final fine-tuning step;
independent of Table 2's scoring). Row i of the output parameter file is theta(l_i),
l_i = i / (M - 1), mixed by ``interpolate_styles.interpolate`` (float64, back to float32; l = 0 and
1 give the two checkpoints exactly). Its info records the grid, the train / test split
(``generalisation.common``: train on [0.1, 0.2) U [0.3, 0.4) U ... U [0.9, 1.0), test on the rest)
and where each end came from; a JSON beside it lists the same for reading.

    python -m condpdiff.image.generalisation.build_generalisation_set --harvest H1 H2 \\
        --styles S1 S2 --points 51 --out set.safetensors --json set.json
"""

from __future__ import annotations

import argparse
import logging

import torch

from condpdiff.image.generalisation.common import GeneralisationSet, lambdas, split_grid
from condpdiff.image.interpolation.interpolate_styles import FORMULA, interpolate
from condpdiff.params.paramfile import ParamSet, require_same_layout
from condpdiff.pipeline.artifacts import HARVEST_KINDS
from condpdiff.util import cli
from condpdiff.util.atomic import write_json

log = logging.getLogger("condpdiff.image.generalisation.build_generalisation_set")


def build(
    h1: ParamSet, h2: ParamSet, styles: list[str], points: int, sources: list[str]
) -> GeneralisationSet:
    """The set from the last rows of two harvests (same layout)."""
    lams = lambdas(points)
    train, test = split_grid(points)
    a, b = h1.params[-1], h2.params[-1]
    if torch.equal(a, b):
        raise ValueError(
            f"{sources[0]} and {sources[1]}: the two styles' last checkpoints are identical; "
            "there is nothing to interpolate"
        )
    rows = torch.stack([interpolate({"p": a}, {"p": b}, lam)["p"] for lam in lams])
    info = {
        **{k: h1.info[k] for k in ("backbone", "rank", "alpha", "base", "domain") if k in h1.info},
        "kind": "generalisation-set",
        "task": f"{styles[0]}--{styles[1]}",
        "styles": list(styles),
        "points": points,
        "lambdas": lams,
        "train": train,
        "test": test,
        "formula": FORMULA,
        "ends": [
            {"style": s, "harvest": src, "step": int(h.steps[-1]), "row": h.n - 1}
            for s, src, h in zip(styles, sources, (h1, h2))
        ],
    }
    pset = ParamSet(
        rows.contiguous(),
        h1.layout,
        torch.arange(points),
        torch.full((points,), float("nan")),
        {},
        info,
    )
    return GeneralisationSet(pset, lams, train, test, list(styles))


def main(argv=None) -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument(
        "--harvest", nargs=2, required=True, metavar=("H1", "H2"), help="the two styles' harvests"
    )
    p.add_argument(
        "--styles",
        nargs=2,
        required=True,
        metavar=("S1", "S2"),
        help="their style keys (l = 0, l = 1)",
    )
    p.add_argument("--points", type=int, required=True, help="M: grid points from l = 0 to l = 1")
    p.add_argument("--out", required=True, help="the set (.safetensors, condpdiff-params/1)")
    p.add_argument("--json", required=True, help="the grid and its split (.json)")
    a = p.parse_args(argv)
    cli.setup_logging()
    if a.styles[0] == a.styles[1]:
        p.error(f"--styles needs two different styles, got {a.styles}")
    h1, h2 = (
        ParamSet.load(h, {"kind": HARVEST_KINDS}, "build_generalisation_set") for h in a.harvest
    )
    require_same_layout(h2, a.harvest[1], h1, a.harvest[0])
    gset = build(h1, h2, a.styles, a.points, a.harvest)
    gset.params.save(a.out)
    write_json(a.json, {**gset.describe(), "ends": gset.params.info["ends"], "file": a.out})
    log.info(
        "%s: %d LoRAs (K = %d) from %s to %s; %d train, %d test",
        a.out,
        gset.points,
        gset.params.k,
        *a.styles,
        len(gset.train),
        len(gset.test),
    )


if __name__ == "__main__":
    main()
