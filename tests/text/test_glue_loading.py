"""The real GLUE tsv quirks, on tiny fixture files: CoLA has no header, MRPC's header starts
with a byte-order mark, quotes inside sentences are text, RTE labels are words."""

from __future__ import annotations

import pytest

from condpdiff.text import data
from condpdiff.text.tasks import GLUE_TASKS


def write(path, text, encoding="utf-8"):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode(encoding))


def test_cola_has_no_header(tmp_path):
    write(
        tmp_path / "CoLA/train.tsv",
        'gj04\t1\t\tOur friends won\'t buy this "analysis".\ngj04\t0\t*\tThe more I read.\n',
    )
    ex = data.read_glue_tsv(tmp_path / "CoLA/train.tsv", GLUE_TASKS["cola"])
    assert ex.texts == [('Our friends won\'t buy this "analysis".',), ("The more I read.",)]
    assert ex.labels == [1, 0]


def test_mrpc_byte_order_mark_and_quotes(tmp_path):
    body = (
        "\ufeffQuality\t#1 ID\t#2 ID\t#1 String\t#2 String\n"
        '1\t7\t8\the called " the witness " .\the said .\n'
    )
    write(tmp_path / "MRPC/dev.tsv", body)
    ex = data.load_split(GLUE_TASKS["mrpc"], "dev", "local", tmp_path)
    assert ex.texts == [('he called " the witness " .', "he said .")]
    assert ex.labels == [1]


def test_unbalanced_quote_does_not_swallow_lines(tmp_path):
    body = 'sentence\tlabel\na "quoted start\t1\nnext line\t0\n'
    write(tmp_path / "SST-2/train.tsv", body)
    ex = data.read_glue_tsv(tmp_path / "SST-2/train.tsv", GLUE_TASKS["sst2"])
    assert len(ex) == 2 and ex.texts[0] == ('a "quoted start',)


def test_rte_word_labels_and_stsb_float_labels(tmp_path):
    write(
        tmp_path / "RTE/train.tsv",
        "index\tsentence1\tsentence2\tlabel\n0\tA.\tB.\tnot_entailment\n1\tC.\tD.\tentailment\n",
    )
    write(
        tmp_path / "STS-B/train.tsv",
        "index\tgenre\tfilename\tyear\told_index\tsource1\tsource2\tsentence1\tsentence2\tscore\n"
        "0\tm\tf\t2012\t1\tn\tn\tA plane.\tAn air plane.\t4.750\n",
    )
    assert data.load_split(GLUE_TASKS["rte"], "train", "local", tmp_path).labels == [1, 0]
    stsb = data.load_split(GLUE_TASKS["stsb"], "train", "local", tmp_path)
    assert stsb.labels == [4.75] and stsb.texts == [("A plane.", "An air plane.")]


def test_missing_column_names_file_and_column(tmp_path):
    write(tmp_path / "SST-2/train.tsv", "text\tlabel\nhello\t1\n")
    with pytest.raises(ValueError, match=r"SST-2/train.tsv.*\['sentence'\]"):
        data.load_split(GLUE_TASKS["sst2"], "train", "local", tmp_path)


def test_unknown_label_names_line(tmp_path):
    write(tmp_path / "RTE/dev.tsv", "index\tsentence1\tsentence2\tlabel\n0\tA.\tB.\tmaybe\n")
    with pytest.raises(ValueError, match=r"dev.tsv:2: column 'label' \(field 4\): label 'maybe'"):
        data.load_split(GLUE_TASKS["rte"], "dev", "local", tmp_path)


def test_missing_file_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="RTE/train.tsv"):
        data.load_split(GLUE_TASKS["rte"], "train", "local", tmp_path)


def test_cap_is_seeded_subset():
    ex = data.Examples([(str(i),) for i in range(100)], list(range(100)))
    a, b = data.cap(ex, 10, seed=1), data.cap(ex, 10, seed=1)
    assert a.labels == b.labels and len(a) == 10 and a.labels == sorted(a.labels)
    assert data.cap(ex, None, seed=1) is ex


def test_hub_source_asks_for_the_namespaced_glue(monkeypatch):
    """data.source hub: every built-in task loads nyu-mll/glue (the bare 'glue' id answers 404)."""
    datasets = pytest.importorskip("datasets")
    asked = []

    def load_dataset(path, name, split):
        asked.append((path, name, split))
        task = GLUE_TASKS[name]
        cols = {c: ["a"] for c in task.hub_text_columns}
        label = 1.0 if task.is_regression else 1
        return datasets.Dataset.from_dict({**cols, task.hub_label_column: [label]})

    monkeypatch.setattr(datasets, "load_dataset", load_dataset)
    for task in GLUE_TASKS.values():
        assert len(data.load_split(task, "dev", "hub")) == 1
    assert asked == [("nyu-mll/glue", name, t.hub_dev_split) for name, t in GLUE_TASKS.items()]
