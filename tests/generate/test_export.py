"""Export: where the workflow puts a generator folder, the model card,
the pooled row and bad arguments."""

from __future__ import annotations

import json

import pytest

from condpdiff.generate import export
from condpdiff.generate import folder as gf
from condpdiff.pipeline.paths import Paths


def test_export_folder_paths_per_kind():
    p = Paths("R")
    assert p.generator_export(kind="pdiff") == (
        "R/generator/{backbone}/r{rank}{ftseed}/n{n}/layers-{layers}/norm-{norm}{unseen}{genseed}/pdiff/cond-{condition}/{sampler}/export"
    )
    assert p.generator_export(kind="direct").endswith(
        "/direct/cond-{condition}/recipe-{recipe}/export"
    )


def test_wrong_network_count_is_named(tmp_path):
    with pytest.raises(ValueError, match="a pdiff generator has 2 network folders .* got 1"):
        export.export("pdiff", ["x"], "ddim20", "s", ["h"], ["t"], ["c"], str(tmp_path / "o"))
    assert not (tmp_path / "o").exists()


def test_num_labels_reads_the_last_head_matrix():
    assert (
        export.num_labels(
            [
                ("classifier.dense.weight", (32, 32)),
                ("classifier.dense.bias", (32,)),
                ("classifier.out_proj.weight", (3, 32)),
                ("classifier.out_proj.bias", (3,)),
            ]
        )
        == 3
    )
    with pytest.raises(ValueError, match="without a weight matrix"):
        export.num_labels([("classifier.bias", (2,))])


def test_model_card_names_tasks_tables_and_use():
    cfg = {
        "kind": "pdiff",
        "domain": "text",
        "draw": "ddim20",
        "base": {"model": "bert-base", "copied": False},
        "tasks": [{"name": "sst2", "num_labels": 2}, {"name": "rte", "num_labels": 2}],
        "stats": {"mode": "task", "n": 150, "layers": "all"},
        "lora": {
            "rank": 1,
            "alpha": 8,
            "target_modules": ["query", "value"],
            "layout": [["a", [1, 2]]],
            "k": 2,
        },
        "condition": {
            "name": "sentence-twoshot",
            "encoder": "transformers:m",
            "projection": "mlp",
            "how": "text",
        },
    }
    card = export.model_card(cfg, {"table1.md": "| a |\n|---|\n| 1 |"})
    assert "`sst2`, `rte`" in card and "### table1.md" in card and "| 1 |" in card
    assert "condpdiff generate THIS_FOLDER --examples EXAMPLES.tsv --description" in card


def test_read_config_refuses_another_kind(tmp_path):
    (tmp_path / gf.CONFIG).write_text(
        json.dumps({k: 1 for k in gf.KEYS} | {"format": gf.FORMAT, "kind": "gan"})
    )
    with pytest.raises(gf.GeneratorFolderError, match="unknown generator kind"):
        gf.read_config(tmp_path)


def test_rule_words_follow_the_config(smoke_config):
    from condpdiff.pipeline import export_args

    assert export_args.copy_base(smoke_config, "tiny") == "true"  # built by the workflow: copied
    words = export_args.encoder_words(smoke_config, "tiny")
    assert "sentence_model=sentence-transformers/all-MiniLM-L6-v2" in words
    smoke_config["backbones"]["hub"] = {"model": "bert-base-uncased"}
    assert export_args.copy_base(smoke_config, "hub") == "false"
    smoke_config["results_dir"] = "results/a b"
    assert "'results/a b/tables/table1.md'" in export_args.table_words(smoke_config)
