"""The text data condition: labelled TRAINING examples, each embedded alone,
as a set condition file."""

from __future__ import annotations

import pytest
import torch

from condpdiff.conditions.condition import load_condition
from condpdiff.text import encode_data_condition
from condpdiff.text.data import load_split
from condpdiff.text.tasks import task_to_dict
from condpdiff.util.atomic import write_json


def run(tiny_backbone, synthetic_glue, task_file, out, *more):
    encode_data_condition.main(
        [
            "--task-file",
            str(task_file),
            "--data-source",
            "local",
            "--glue-dir",
            str(synthetic_glue),
            "--sentence-model",
            tiny_backbone,
            "--out",
            str(out),
            *more,
        ]
    )


def test_set_of_labelled_train_examples(tiny_backbone, synthetic_glue, sentiment_task, tmp_path):
    task_file = tmp_path / "task.json"
    write_json(task_file, task_to_dict(sentiment_task))
    out = tmp_path / "cond.safetensors"
    run(tiny_backbone, synthetic_glue, task_file, out, "--examples", "10", "--seed", "3")
    cond = load_condition(out)
    assert (
        cond.projection == "set" and cond.name == "sentence-data" and cond.task == "syn_sentiment"
    )
    assert cond.embedding.shape[0] == 10 and torch.isfinite(cond.embedding).all()
    assert "10 labelled train examples (seed 3)" in cond.text and "Label: " in cond.text
    again = tmp_path / "again.safetensors"
    run(tiny_backbone, synthetic_glue, task_file, again, "--examples", "10", "--seed", "3")
    assert again.read_bytes() == out.read_bytes()
    other = tmp_path / "other.safetensors"
    run(tiny_backbone, synthetic_glue, task_file, other, "--examples", "10", "--seed", "4")
    assert not torch.equal(load_condition(other).embedding, cond.embedding)


def test_draws_never_more_than_the_split_and_label_text(sentiment_task, synthetic_glue):
    train = load_split(sentiment_task, "train", "local", synthetic_glue)
    idx = encode_data_condition.draw_examples(train, 10_000, 0)
    assert sorted(idx) == list(range(len(train)))
    text = encode_data_condition.example_text(("a b", "c"), 1, sentiment_task)
    assert text == "a b [SEP] c Label: 1"


def test_unknown_data_condition_is_refused(sentiment_task, synthetic_glue):
    train = load_split(sentiment_task, "train", "local", synthetic_glue)
    with pytest.raises(ValueError, match="unknown data condition"):
        encode_data_condition.encode(
            sentiment_task, train, encode_data_condition.DataConditionConfig(), "sentence-x"
        )
