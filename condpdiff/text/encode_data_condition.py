"""Encode one task's data condition: the frozen sentence encoder over labelled TRAINING examples.

Draws ``--examples`` examples of the task's train split (seeded; the dev split is never read),
writes each as its text(s) and label ("<text> [SEP] <text2> Label: 1") and embeds it alone with
the frozen sentence encoder (``conditions.sentence_model``). The condition file holds the set
[n_items, D] (projection ``set``); the direct generator (``condpdiff.generator.direct``) pools k
of them per draw, so one task gives many conditions.

    python -m condpdiff.text.encode_data_condition --task-file T.json --data-source local \\
        --glue-dir GLUE --condition sentence-data --out COND.safetensors [--examples 256] [--seed 0]
"""

from __future__ import annotations

import argparse
import logging
import random
from dataclasses import dataclass

import torch
from tqdm import tqdm

from condpdiff.conditions.condition import Condition
from condpdiff.conditions.encoders import SentenceEncoder
from condpdiff.pipeline.names import DATA_CONDITIONS
from condpdiff.text.data import Examples, load_split
from condpdiff.text.tasks import Task, load_task_file
from condpdiff.util import cli

log = logging.getLogger("condpdiff.text.encode_data_condition")


@dataclass
class DataConditionConfig:
    examples: int = 256  # training examples embedded (the set the generator draws k from)
    seed: int = 0
    sentence_model: str = "sentence-transformers/all-MiniLM-L6-v2"  # hub id or local folder
    device: str = "cpu"


def example_text(texts: tuple[str, ...], label: float, task: Task) -> str:
    """One labelled example as the encoder reads it: the text(s), then the label."""
    shown = f"{label:.2f}" if task.is_regression else str(int(label))
    return " [SEP] ".join(texts) + f" Label: {shown}"


def draw_examples(train: Examples, n: int, seed: int) -> list[int]:
    """`n` distinct train indices (all of them if the split is smaller), seeded, in draw order."""
    if len(train) == 0:
        raise ValueError("the train split holds no example to condition on")
    return random.Random(seed).sample(range(len(train)), min(n, len(train)))


def encode(
    task: Task, train: Examples, cfg: DataConditionConfig, name: str = "sentence-data"
) -> Condition:
    if name not in DATA_CONDITIONS:
        raise ValueError(f"unknown data condition {name!r}: expected one of {DATA_CONDITIONS}")
    idx = draw_examples(train, cfg.examples, cfg.seed)
    texts = [example_text(train.texts[i], train.labels[i], task) for i in idx]
    enc = SentenceEncoder(cfg.sentence_model, cfg.device)
    rows = torch.stack([enc(t) for t in tqdm(texts, desc=f"{task.name} examples", mininterval=5)])
    summary = f"{len(texts)} labelled train examples (seed {cfg.seed}), e.g. {texts[0][:120]!r}"
    return Condition(name, rows, task.name, enc.name, summary, "set")


def main(argv=None) -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument(
        "--task-file", required=True, help="task JSON written by condpdiff.text.write_task"
    )
    p.add_argument("--data-source", choices=["local", "hub"], required=True)
    p.add_argument(
        "--glue-dir", default=None, help="folder in the classic GLUE layout (data-source local)"
    )
    p.add_argument("--condition", default="sentence-data", choices=DATA_CONDITIONS)
    p.add_argument("--out", required=True, help="condition file (.safetensors)")
    cli.add_dataclass_args(p, DataConditionConfig)
    a = p.parse_args(argv)
    cli.setup_logging()
    task = load_task_file(a.task_file)
    train = load_split(task, "train", a.data_source, a.glue_dir)
    cond = encode(task, train, cli.dataclass_from_args(DataConditionConfig, a), a.condition)
    cond.save(a.out)
    log.info(
        "%s %s: %s item embeddings from %s",
        cond.task,
        cond.name,
        tuple(cond.embedding.shape),
        cond.encoder,
    )


if __name__ == "__main__":
    main()
