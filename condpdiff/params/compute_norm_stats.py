"""Normalisation statistics of one backbone x rank x n x layers x mode (rule
``compute_norm_stats``).

See ``params.norm_stats`` for the modes and the file format.
"""

from __future__ import annotations

import argparse

from condpdiff.params.norm_stats import MODES, compute, load_harvests


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument(
        "--harvests", nargs="+", required=True, help="harvest files, one per task, in --tasks order"
    )
    p.add_argument("--tasks", nargs="+", required=True)
    p.add_argument("--mode", choices=MODES, required=True)
    p.add_argument("--n", type=int, required=True, help="use the last n harvested checkpoints")
    p.add_argument("--layers", default="all", help="'all' or an inclusive layer range 'a-b'")
    p.add_argument(
        "--unseen",
        nargs="*",
        default=[],
        help="tasks left out of training (leave-one-out): a row of the pooled stats each",
    )
    p.add_argument("--out", required=True)
    a = p.parse_args(argv)
    harvests = load_harvests(a.harvests, a.tasks, "compute_norm_stats")  # each its task's
    compute(harvests, a.mode, a.n, a.layers, a.unseen).save(a.out)


if __name__ == "__main__":
    main()
