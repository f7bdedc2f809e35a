"""The command-line arguments every text step that runs a backbone on a task shares."""

from __future__ import annotations

import argparse


def add_backbone_task_args(p: argparse.ArgumentParser) -> None:
    """The flags every step that runs the backbone on a task needs: model, task, data, LoRA
    shape."""
    p.add_argument("--model", required=True, help="backbone: hub id or local folder")
    p.add_argument(
        "--task-file", required=True, help="task JSON written by condpdiff.text.write_task"
    )
    p.add_argument("--data-source", choices=["local", "hub"], required=True)
    p.add_argument(
        "--glue-dir", default=None, help="folder in the classic GLUE layout (data-source local)"
    )
    p.add_argument("--rank", type=int, required=True)
    p.add_argument("--alpha", type=int, required=True)
    p.add_argument("--target-modules", nargs="+", required=True)
