"""Fine-tuning that diverges, or starts from a bad task file, stops with an error that says why and
writes neither the harvest nor the summary."""

from __future__ import annotations

import re

import pytest

from condpdiff.pipeline.artifacts import ArtifactError, NonFiniteError
from condpdiff.text import finetune_lora
from condpdiff.text.tasks import load_task_file, task_from_config, task_to_dict
from condpdiff.util.atomic import write_json

SENTIMENT = task_from_config("syn_sentiment", {
    "num_labels": 2, "metric": "accuracy", "description": "d", "examples": [],
    "glue_dir": "sentiment", "tsv": {"text_columns": ["sentence"], "label_column": "label"},
})  # fmt: skip


def finetune_cli(model, task_file, glue_dir, out, summary, *flags):
    finetune_lora.main(
        [
            "--model",
            model,
            "--task-file",
            str(task_file),
            "--data-source",
            "local",
            "--glue-dir",
            str(glue_dir),
            "--rank",
            "1",
            "--alpha",
            "8",
            "--target-modules",
            "query",
            "key",
            "value",
            "--out",
            str(out),
            "--summary",
            str(summary),
            "--epochs",
            "2",
            "--batch-size",
            "16",
            "--harvest-last",
            "2",
            "--max-length",
            "32",
            "--mixed-precision",
            "no",
            *flags,
        ]
    )


def test_diverged_finetuning_writes_nothing(
    tiny_backbone, synthetic_glue, tmp_path, assert_not_written
):
    write_json(tmp_path / "task.json", task_to_dict(SENTIMENT))
    out_dir = tmp_path / "finetune" / "tiny_r1" / "syn_sentiment"
    out, summary = out_dir / "harvest.safetensors", out_dir / "summary.json"
    with pytest.raises(NonFiniteError) as e:
        finetune_cli(
            tiny_backbone, tmp_path / "task.json", synthetic_glue, out, summary, "--lr", "1e8"
        )
    msg = str(e.value)
    print(msg)
    assert re.match(
        r"finetune syn_sentiment r1: (loss is (nan|inf|-inf) at step \d+ of 8|non-finite LoRA "
        r"weights at step \d+): training diverged; nothing was written",
        msg,
    )
    assert "Likely cause: finetune.lr = 100000000.0" in msg and "is too large" in msg
    assert_not_written(out, summary)
    assert not out_dir.exists()


def test_task_file_that_is_not_json(tiny_backbone, synthetic_glue, tmp_path, assert_not_written):
    task_file = tmp_path / "tasks" / "syn_sentiment.json"
    task_file.parent.mkdir()
    task_file.write_text(
        "name: syn_sentiment\nnum_labels: 2\n"
    )  # YAML, not the JSON write_task writes
    with pytest.raises(ArtifactError) as e:
        load_task_file(task_file)
    msg = str(e.value)
    print(msg)
    assert msg.startswith(
        f"{task_file}: unreadable task file (truncated or not JSON); found Expecting value"
    )
    assert "reruns rule write_task" in msg
    out, summary = tmp_path / "harvest.safetensors", tmp_path / "summary.json"
    with pytest.raises(ArtifactError, match=re.escape(f"{task_file}: unreadable task file")):
        finetune_cli(tiny_backbone, task_file, synthetic_glue, out, summary)
    assert_not_written(out, summary)


def test_task_file_missing_fields(tmp_path):
    task_file = tmp_path / "tasks" / "t.json"
    write_json(task_file, {"name": "t", "num_labels": 2, "metric": "accuracy"})
    with pytest.raises(
        ArtifactError,
        match=re.escape(
            f"{task_file}: incomplete task file; expected keys "
            "['name', 'num_labels', 'metric', 'tsv']; found no ['tsv']"
        ),
    ):
        load_task_file(task_file)
    write_json(task_file, {**task_to_dict(SENTIMENT), "colour": "blue"})
    with pytest.raises(
        ArtifactError, match=re.escape(f"{task_file}: task file with unknown fields") + ".*colour"
    ):
        load_task_file(task_file)
