"""Bad task data fails when it is read, with the file, line and column: labels outside the
task's classes or of the wrong type, bytes that are not UTF-8, files with no examples, unexpected
columns."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest

from condpdiff.text import data
from condpdiff.text.tasks import GLUE_TASKS, TsvLayout, get_task, task_from_dict, task_to_dict

SENTIMENT = get_task(
    "syn",
    {
        "custom_tasks": {
            "syn": {
                "num_labels": 2,
                "metric": "accuracy",
                "description": "d",
                "examples": [],
                "tsv": {"text_columns": ["sentence"], "label_column": "label"},
            }
        }
    },
)
OVERLAP = replace(
    SENTIMENT,
    num_labels=1,
    metric="pearson",
    tsv=TsvLayout(text_columns=("sentence1", "sentence2"), label_column="score"),
)


def write(tmp_path, body: str | bytes, name: str = "train.tsv"):
    path = tmp_path / name
    path.write_bytes(body if isinstance(body, bytes) else body.encode())
    return path


def error(path, task) -> str:
    with pytest.raises(ValueError) as e:
        data.read_glue_tsv(path, task)
    return str(e.value)


def test_label_outside_the_classes_names_file_line_and_column(tmp_path):
    path = write(tmp_path, "sentence\tlabel\ngood film\t1\nbad film\t7\n")
    msg = error(path, SENTIMENT)
    assert msg.startswith(f"{path}:3: column 'label' (field 2): label '7'")
    assert "0..1" in msg


def test_negative_label_and_label_map_outside_the_classes(tmp_path):
    assert "label '-1'" in error(write(tmp_path, "sentence\tlabel\nx\t-1\n"), SENTIMENT)
    mapped = replace(SENTIMENT, tsv=TsvLayout(label_map={"pos": 1, "neg": 2}))
    assert re.search(
        r":3: column 'label' \(field 2\): label 'neg' is not a class",
        error(write(tmp_path, "sentence\tlabel\nx\tpos\ny\tneg\n", "m.tsv"), mapped),
    )


def test_fractional_class_label_is_refused_not_truncated(tmp_path):
    msg = error(write(tmp_path, "sentence\tlabel\ngood\t1.5\n"), SENTIMENT)
    assert re.search(r"train.tsv:2: column 'label' \(field 2\): label '1.5' is not a class", msg)
    assert data.read_glue_tsv(
        write(tmp_path, "sentence\tlabel\ngood\t1.0\n", "ok.tsv"), SENTIMENT
    ).labels == [1]


def test_regression_label_that_is_not_a_finite_number(tmp_path):
    head = "sentence1\tsentence2\tscore\n"
    msg = error(write(tmp_path, head + "a\tb\t2.5\na\tb\thigh\n"), OVERLAP)
    assert re.search(r"train.tsv:3: column 'score' \(field 3\): label 'high' is not a number", msg)
    assert "not a finite number" in error(write(tmp_path, head + "a\tb\tnan\n", "n.tsv"), OVERLAP)
    assert data.read_glue_tsv(write(tmp_path, head + "a\tb\t2.5\n", "ok.tsv"), OVERLAP).labels == [
        2.5
    ]


def test_headerless_file_names_the_column_index(tmp_path):
    msg = error(write(tmp_path, "gj04\t1\t\tFine.\ngj04\t2\t*\tBad.\n"), GLUE_TASKS["cola"])
    assert msg.startswith(f"{tmp_path / 'train.tsv'}:2: column 1 (field 2): label '2'")


def test_headerless_layout_reading_past_the_last_column(tmp_path):
    layout = TsvLayout(header=False, text_columns=(3,), label_column=5)
    wide = replace(GLUE_TASKS["cola"], tsv=layout)
    msg = error(write(tmp_path, "gj04\t1\t\tFine.\n"), wide)
    assert msg.startswith(
        f"{tmp_path / 'train.tsv'}:1: task 'cola' reads column(s) [5] (0-based), "
        "but the file has 4 (as on line 1, the first row) fields"
    )


def test_non_utf8_bytes_name_file_line_field_and_offset(tmp_path):
    path = write(tmp_path, "sentence\tlabel\ngood\t1\ncaf\xe9 bad\t0\n".encode("latin-1"))
    msg = error(path, SENTIMENT)
    assert msg.startswith(
        f"{path}:3: field 1, byte offset 25 (byte 4 of the line): b'\\xe9' is not UTF-8"
    )
    assert "expected a UTF-8 text file" in msg


def test_non_utf8_after_a_byte_order_mark_counts_from_the_file_start(tmp_path):
    path = write(tmp_path, b"\xef\xbb\xbfsentence\tlabel\nok\t\xff\n")
    assert re.search(r"train.tsv:2: field 2, byte offset 21 ", error(path, SENTIMENT))


def test_header_only_file_has_no_examples(tmp_path):
    msg = error(write(tmp_path, "sentence\tlabel\n\n"), SENTIMENT)
    assert msg.startswith(
        f"{tmp_path / 'train.tsv'}:1: only a header, expected at least one example"
    )
    assert "no rows" in error(write(tmp_path, "\n", "cola.tsv"), GLUE_TASKS["cola"])


def test_extra_field_in_a_row_is_refused(tmp_path):
    # a tab inside a sentence: the label column would silently read part of the text
    msg = error(write(tmp_path, "sentence\tlabel\ngood\t1\nbad\tmovie\t0\n"), SENTIMENT)
    assert msg.startswith(
        f"{tmp_path / 'train.tsv'}:3: 3 tab-separated fields, expected 2 "
        "(the header's: sentence, label)"
    )


def test_headerless_row_wider_than_the_declared_columns(tmp_path):
    msg = error(write(tmp_path, "gj04\t1\t\tFine.\ngj04\t1\t\tA\ttab.\n"), GLUE_TASKS["cola"])
    assert re.search(
        r"train.tsv:2: 5 tab-separated fields, expected 4 \(the layout's: source, label, ", msg
    )


def test_extra_header_column_refused_where_the_layout_declares_all_columns(tmp_path):
    body = "sentence\tlabel\tnote\ngood\t1\tx\n"
    assert data.read_glue_tsv(write(tmp_path, body), SENTIMENT).labels == [
        1
    ]  # not declared: allowed
    strict = replace(SENTIMENT, tsv=replace(SENTIMENT.tsv, columns=("sentence", "label")))
    msg = error(write(tmp_path, body), strict)
    assert msg.startswith(
        f"{tmp_path / 'train.tsv'}:1: header ['sentence', 'label', 'note']: expected exactly "
        "the columns ['sentence', 'label']"
    )
    assert "unexpected ['note']" in msg


def test_declared_columns_survive_the_task_file_and_the_config():
    task = get_task(
        "syn",
        {
            "custom_tasks": {
                "syn": {
                    "num_labels": 2,
                    "metric": "accuracy",
                    "description": "d",
                    "examples": [],
                    "tsv": {"columns": ["sentence", "label"]},
                }
            }
        },
    )
    assert task.tsv.columns == ("sentence", "label")
    assert task_from_dict(task_to_dict(task)) == task
    legacy = task_to_dict(SENTIMENT)
    del legacy["tsv"]["columns"]  # a task file written before the field existed
    assert task_from_dict(legacy).tsv.columns is None


def test_hub_labels_are_checked_by_row_and_column(monkeypatch):
    datasets = pytest.importorskip("datasets")
    ds = datasets.Dataset.from_dict({"sentence": ["a", "b"], "label": [0, 7]})
    monkeypatch.setattr(datasets, "load_dataset", lambda *a, **k: ds)
    task = replace(GLUE_TASKS["sst2"], hub_path="glue", hub_name="sst2")
    with pytest.raises(
        ValueError, match=r"hub dataset glue/sst2 split 'train', row 1, column 'label': label '7'"
    ):
        data.load_hub_split(task, "train")
