"""The null condition of a task: zeros of its condition's shape, same condition name, encoder and
projection, recorded as ``control: null`` (the audit's null control, arm ``-null``).

    python -m condpdiff.conditions.null_condition --condition C --task T --out N
"""

from __future__ import annotations

import argparse

import torch

from condpdiff.conditions.condition import Condition, load_condition
from condpdiff.util import cli


def null_condition(cond: Condition) -> Condition:
    """`cond` with a zero embedding of the same shape and no text, recorded as control null."""
    return Condition(
        cond.name,
        torch.zeros(cond.embedding.shape, dtype=torch.float32),
        cond.task,
        cond.encoder,
        "",
        cond.projection,
        control="null",
    )


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--condition", required=True, help="the task's condition file")
    p.add_argument("--task", required=True)
    p.add_argument("--out", required=True, help="the null condition file (.safetensors)")
    a = p.parse_args(argv)
    cli.setup_logging()
    null_condition(load_condition(a.condition, {"task": a.task, "control": ""})).save(a.out)


if __name__ == "__main__":
    main()
