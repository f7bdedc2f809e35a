"""Condition encoders: chunking covers the whole text, one-hot/learnable files, the CLI."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from condpdiff.conditions.condition import FORMAT, Condition, load_condition
from condpdiff.conditions.encoders import ClipTextEncoder, SentenceEncoder, one_hot, windows
from condpdiff.text import encode_condition
from condpdiff.text.tasks import GLUE_TASKS, task_to_dict
from condpdiff.util.atomic import write_json

ROOT = Path(__file__).resolve().parents[2]  # the repository root
MINILM = (
    ROOT.parent / "shared" / "models" / "all-MiniLM-L6-v2"
)  # ../shared beside the clone, when present
LONG = GLUE_TASKS["mrpc"].condition_text("twoshot") * 3


def test_windows_cover_everything():
    ids = list(range(23))
    ws = windows(ids, 5)
    assert [i for w in ws for i in w] == ids and max(map(len, ws)) == 5
    assert windows([], 5) == [[]]


@pytest.fixture(scope="module")
def clip():
    return ClipTextEncoder("ViT-B-32", pretrained=None)  # random weights: no download


def test_clip_chunks_cover_the_whole_text(clip):
    tok = clip.tokenizer
    all_ids = tok.encode(tok.clean_fn(LONG))
    assert len(all_ids) > 2 * 75  # longer than two CLIP windows
    rows = clip.token_windows(LONG)
    assert rows.shape[1] == 77 and rows.shape[0] == -(-len(all_ids) // 75)
    seen = []
    for row in rows.tolist():
        assert row[0] == tok.sot_token_id
        end = row.index(tok.eot_token_id)
        seen += row[1:end]
        assert all(t == 0 for t in row[end + 1 :])
    assert seen == all_ids  # every token in exactly one window, in order: nothing cut


def test_clip_embedding_pools_all_chunks(clip):
    emb = clip(LONG)
    assert emb.shape == (512,) and torch.isclose(emb.norm(), torch.tensor(1.0), atol=1e-5)
    first_only = clip(clip.tokenizer.decode(clip.tokenizer.encode(LONG)[:70]))
    assert not torch.allclose(emb, first_only, atol=1e-4)


def test_sentence_encoder_chunks_long_text(tiny_backbone):
    enc = SentenceEncoder(tiny_backbone, max_length=16)
    batch = enc.token_windows(LONG)
    assert batch["input_ids"].shape[0] > 1 and batch["input_ids"].shape[1] <= 16
    n_tokens = len(enc.tokenizer(LONG, add_special_tokens=False)["input_ids"])
    assert int(batch["attention_mask"].sum()) == n_tokens + 2 * batch["input_ids"].shape[0]
    emb = enc(LONG)
    assert emb.shape == (32,) and torch.isclose(emb.norm(), torch.tensor(1.0), atol=1e-5)


@pytest.mark.skipif(
    not MINILM.is_dir(),
    reason="the offline overlay's pretrained encoder "
    "../shared/models/all-MiniLM-L6-v2 is not beside the clone",
)
def test_minilm_separates_tasks():
    enc = SentenceEncoder(str(MINILM))
    a, b = enc(GLUE_TASKS["sst2"].condition_text()), enc(GLUE_TASKS["stsb"].condition_text())
    assert a.shape == (384,) and float(a @ b) < 0.99


@pytest.mark.parametrize("condition,projection", [("onehot", "mlp"), ("learnable", "table")])
def test_cli_one_hot(tmp_path, condition, projection):
    write_json(tmp_path / "mrpc.json", task_to_dict(GLUE_TASKS["mrpc"]))
    out = tmp_path / f"{condition}.safetensors"
    encode_condition.main(
        [
            "--task-file",
            str(tmp_path / "mrpc.json"),
            "--condition",
            condition,
            "--tasks",
            "sst2",
            "mrpc",
            "rte",
            "--out",
            str(out),
        ]
    )
    cond = load_condition(out)
    assert torch.equal(cond.embedding, torch.tensor([0.0, 1.0, 0.0]))
    assert cond.projection == projection and cond.task == "mrpc" and cond.name == condition


def test_cli_sentence_records_the_text(tmp_path, tiny_backbone):
    write_json(tmp_path / "sst2.json", task_to_dict(GLUE_TASKS["sst2"]))
    out = tmp_path / "c.safetensors"
    encode_condition.main(
        [
            "--task-file",
            str(tmp_path / "sst2.json"),
            "--condition",
            "sentence-desc",
            "--sentence-model",
            tiny_backbone,
            "--out",
            str(out),
        ]
    )
    cond = load_condition(out)
    assert cond.text == GLUE_TASKS["sst2"].condition_text("desc") and cond.embedding.shape == (32,)


def test_missing_condition_file_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.safetensors"):
        load_condition(tmp_path / "nope.safetensors")


def test_condition_file_round_trip_and_format_check(tmp_path):
    cond = Condition(
        "sentence-desc", torch.tensor([0.5, -1.0, 2.0]), "rte", "transformers:x", "some text", "mlp"
    )
    cond.save(tmp_path / "c.safetensors")
    back = load_condition(tmp_path / "c.safetensors")
    assert torch.equal(back.embedding, cond.embedding)
    assert (back.name, back.task, back.encoder, back.text, back.projection) == (
        "sentence-desc",
        "rte",
        "transformers:x",
        "some text",
        "mlp",
    )
    from condpdiff.util.atomic import save_safetensors

    save_safetensors(
        tmp_path / "old.safetensors", {"embedding": torch.zeros(3)}, {"format": "other/0"}
    )
    with pytest.raises(
        ValueError, match=f"old.safetensors.*expected metadata format '{FORMAT}'; found 'other/0'"
    ):
        load_condition(tmp_path / "old.safetensors")


def test_one_hot_needs_the_task_in_the_list():
    assert one_hot("rte", ["sst2", "rte"]).tolist() == [0.0, 1.0]
    with pytest.raises(KeyError, match="cola"):
        one_hot("cola", ["sst2", "rte"])
