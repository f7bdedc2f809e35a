"""Which task does a LoRA generated for an unseen task resemble? (leave-one-out, table_unseen /
table2_unseen)

For every left-out task t of a config's leave-one-out table it reads the cached files behind the
cells (no scoring, no model): the candidate selected for t by the generator trained WITHOUT t
(``unseen``) and by the generator of every task (``seen``), and the last n harvested checkpoints of
every task u. It prints, per row, the distance of the selected candidate to each task's checkpoint
mean, relative to that mean's norm (``||c - mean_u|| / ||mean_u||``), which task is nearest, and
(``others_mean``) the distance to the mean of the other tasks' checkpoint means: where a generator
that learned nothing about t but the other tasks' average would land.
A seen candidate should sit nearest its own task; an unseen one cannot (the generator has never
seen t's checkpoints): the nearest task says what it produced instead.

    python -m condpdiff.analysis.unseen_nearest --configfile config/demo_cpu.yaml
    python -m condpdiff.analysis.unseen_nearest --configfile config/image_demo_cpu.yaml --image
"""

from __future__ import annotations

import argparse

import pandas as pd
import torch

from condpdiff.params.paramfile import ParamSet
from condpdiff.pipeline.artifacts import CANDIDATES, CELL_FORMAT, HARVEST_KINDS, load_json
from condpdiff.pipeline.config import load_config
from condpdiff.pipeline.generators import generator_settings
from condpdiff.pipeline.paths import Paths
from condpdiff.text.tasks import get_task


def selected_candidate(cell_file: str) -> torch.Tensor:
    """The selected row of a generated cell's candidates file."""
    cell = load_json(cell_file, "generated cell", CELL_FORMAT, keys=("params_file", "selected_row"))
    expect = {"kind": CANDIDATES, "task": cell.get("task")}  # what the cell was selected from
    cands = ParamSet.load(cell["params_file"], expect, "analysis.unseen_nearest")
    return cands.params[int(cell["selected_row"])].double()


def distances(candidate: torch.Tensor, centres: dict[str, torch.Tensor]) -> dict[str, float]:
    """``||candidate - centre_u|| / ||centre_u||`` for every task u."""
    return {u: float((candidate - c).norm() / c.norm()) for u, c in centres.items()}


def nearest_table(config: dict, image: bool) -> pd.DataFrame:
    """One row per (backbone x rank, generator kind, left-out task, seen/unseen): the distances and
    the nearest task; one generator kind per setting the config compares (`generator`, then
    `compare_generators`)."""
    from condpdiff.pipeline import image_targets, targets

    P = Paths(config["results_dir"])
    if image:
        img = config["image"]
        members, left_out, n = (
            list(img["styles"]),
            list(img["leave_one_out"]),
            img["generator"]["n"],
        )
        pairs = [(b, r) for b in img["bases"] for r in img["lora"]["ranks"]]
        gens = [g for _, g in generator_settings(config, "image.")]

        def cell(b, r, t, unseen, gen):
            return image_targets.image_cell(
                config, "generated", b, r, t, unseen=t if unseen else None, gen=gen
            )
    else:
        members, left_out, n = (
            list(config["tasks"]),
            list(config["leave_one_out"]),
            config["generator"]["n"],
        )
        pairs = [(b, r) for b in config["backbones"] for r in config["lora"]["ranks"]]
        gens = [g for _, g in generator_settings(config)]

        def cell(b, r, t, unseen, gen):
            return targets.cell_path(
                config["results_dir"],
                "generated",
                b,
                r,
                t,
                {
                    **gen,
                    "selection": targets.selection_dir(config),
                    "unseen": t if unseen else None,
                },
            )

    if not left_out:
        raise SystemExit(
            "the config lists no task to leave out ('leave_one_out' / 'image.leave_one_out')"
        )
    rows = []
    for b, r in pairs:
        centres = {}
        for u in members:
            harvest = ParamSet.load(
                P.harvest(backbone=b, rank=r, task=u),
                {"kind": HARVEST_KINDS, "task": u},
                "analysis.unseen_nearest",
            )
            centres[u] = harvest.last(n).params.double().mean(0)
        for gen in gens:
            for t in left_out:
                others = torch.stack([c for u, c in centres.items() if u != t]).mean(0)
                for generator in ("unseen", "seen"):
                    cand = selected_candidate(cell(b, r, t, generator == "unseen", gen))
                    d = distances(cand, centres)
                    rows.append(
                        {
                            "backbone": b,
                            "rank": r,
                            "kind": gen["kind"],
                            "task": t,
                            "generator": generator,
                            **d,
                            "nearest": min(d, key=d.get),
                            "others_mean": distances(cand, {"o": others})["o"],
                        }
                    )
    return pd.DataFrame(rows)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument(
        "--configfile", nargs="+", required=True, help="the config(s), as given to snakemake"
    )
    p.add_argument("--image", action="store_true", help="the image branch (image.leave_one_out)")
    a = p.parse_args(argv)
    config = load_config(a.configfile, get_task)
    print(nearest_table(config, a.image).to_markdown(index=False, floatfmt=".3f"))


if __name__ == "__main__":
    main()
