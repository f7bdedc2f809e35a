"""Encode one task's condition (see ``condpdiff.conditions.encoders``) into a condition file.

``--condition`` is ``<encoder>-<text>`` (clip-twoshot, clip-desc, sentence-twoshot,
sentence-desc) or ``onehot`` / ``learnable`` (which need ``--tasks``, the full task list).
"""

from __future__ import annotations

import argparse
import logging
from dataclasses import dataclass

from condpdiff.conditions.condition import Condition
from condpdiff.conditions.encoders import ClipTextEncoder, SentenceEncoder, one_hot
from condpdiff.pipeline.names import CONDITIONS
from condpdiff.text.tasks import load_task_file
from condpdiff.util import cli

log = logging.getLogger("condpdiff.text.encode_condition")


@dataclass
class ConditionConfig:
    clip_model: str = "ViT-B-32"
    clip_pretrained: str = "openai"  # "none": random weights (offline tests)
    sentence_model: str = "sentence-transformers/all-MiniLM-L6-v2"  # hub id or local folder
    device: str = "cpu"


def encode(condition: str, task, tasks: list[str] | None, cfg: ConditionConfig) -> Condition:
    if condition not in CONDITIONS:
        raise ValueError(f"unknown condition {condition!r}: expected one of {CONDITIONS}")
    if condition in ("onehot", "learnable"):
        if not tasks:
            raise ValueError(f"condition {condition!r} needs the task list (--tasks)")
        projection = "table" if condition == "learnable" else "mlp"
        return Condition(
            condition,
            one_hot(task.name, list(tasks)),
            task.name,
            f"onehot:{len(tasks)}",
            " ".join(tasks),
            projection,
        )
    kind, variant = condition.split("-", 1)
    text = task.condition_text(variant)
    if kind == "clip":
        pretrained = None if cfg.clip_pretrained.lower() in ("none", "") else cfg.clip_pretrained
        enc = ClipTextEncoder(cfg.clip_model, pretrained, cfg.device)
    else:
        enc = SentenceEncoder(cfg.sentence_model, cfg.device)
    return Condition(condition, enc(text), task.name, enc.name, text, "mlp")


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument(
        "--task-file", required=True, help="task JSON written by condpdiff.text.write_task"
    )
    p.add_argument("--condition", required=True, choices=CONDITIONS)
    p.add_argument(
        "--tasks", nargs="*", default=None, help="the config's task list (onehot / learnable)"
    )
    p.add_argument("--out", required=True)
    cli.add_dataclass_args(p, ConditionConfig)
    a = p.parse_args(argv)
    cli.setup_logging()
    cond = encode(
        a.condition,
        load_task_file(a.task_file),
        a.tasks,
        cli.dataclass_from_args(ConditionConfig, a),
    )
    cond.save(a.out)
    log.info(
        "%s %s: %d-d embedding from %s", cond.task, cond.name, cond.embedding.numel(), cond.encoder
    )


if __name__ == "__main__":
    main()
