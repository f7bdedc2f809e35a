"""Harvesting exactly the last N steps, the paper's parameter counts, and the flatten round trip."""

from __future__ import annotations

import pytest
import torch
from peft import get_peft_model_state_dict, set_peft_model_state_dict

from condpdiff.params.paramfile import ParamSet, flatten, layout_of, unflatten
from condpdiff.text import backbone as bb
from condpdiff.text import data
from condpdiff.text import inference as evaluation
from condpdiff.text.finetune_lora import FinetuneConfig, finetune
from condpdiff.text.tasks import get_task, task_from_config

SENTIMENT = task_from_config(
    "syn_sentiment",
    {
        "num_labels": 2,
        "metric": "accuracy",
        "description": "d",
        "examples": [],
        "glue_dir": "sentiment",
        "tsv": {"text_columns": ["sentence"], "label_column": "label"},
    },
)


@pytest.mark.slow  # fine-tunes
def test_harvests_exactly_the_last_n_steps(tiny_backbone, synthetic_glue, tmp_path):
    train = data.load_split(SENTIMENT, "train", "local", synthetic_glue)  # 64 examples
    dev = data.load_split(SENTIMENT, "dev", "local", synthetic_glue)
    cfg = FinetuneConfig(epochs=3, batch_size=16, lr=5e-3, harvest_last=5, max_length=32)
    pset, summary = finetune(
        tiny_backbone,
        SENTIMENT,
        train,
        dev,
        rank=2,
        alpha=8,
        target_modules=["query", "key", "value", "attention.output.dense"],
        cfg=cfg,
        device=torch.device("cpu"),
    )
    total = 3 * 4
    assert summary["total_steps"] == total
    assert pset.steps.tolist() == list(
        range(total - 4, total + 1)
    )  # consecutive, ending at the last step
    assert len({tuple(row.tolist()) for row in pset.params}) == 5  # N distinct vectors
    assert torch.isfinite(pset.loss).all()
    assert set(pset.heads) == {
        "base_model.model.classifier.weight",
        "base_model.model.classifier.bias",
    }
    # 2 layers x 4 matrices x r x (32 + 32)
    assert pset.k == 2 * 4 * 2 * 64
    pset.save(tmp_path / "h.safetensors")
    back = ParamSet.load(tmp_path / "h.safetensors")
    assert torch.equal(back.params, pset.params) and back.layout == pset.layout
    assert back.steps.tolist() == pset.steps.tolist()
    assert "score" in summary["dev_last_checkpoint"]


def test_harvest_longer_than_training_is_a_clear_error(tiny_backbone, synthetic_glue):
    train = data.load_split(SENTIMENT, "train", "local", synthetic_glue)
    cfg = FinetuneConfig(epochs=1, batch_size=16, harvest_last=50)
    with pytest.raises(ValueError, match="harvest_last=50"):
        finetune(
            tiny_backbone, SENTIMENT, train, None, 1, 8, ["query"], cfg, device=torch.device("cpu")
        )


def bert_base_lora(rank: int):
    """bert-base shapes on the meta device: sizes and names without allocating
    (or initialising) 110M weights."""
    from transformers import BertConfig, BertForSequenceClassification

    with torch.device("meta"):
        model = BertForSequenceClassification(BertConfig(num_labels=2))
        return bb.wrap_lora(model, rank, 8, ["query", "key", "value", "attention.output.dense"])


def test_bert_base_sizes_match_the_paper():
    for rank, size in [(1, 73_728), (16, 1_179_648)]:
        lora, _ = bb.split_state_dict(bert_base_lora(rank))
        assert sum(t.numel() for t in lora.values()) == size


def test_round_trip_loads_cleanly_and_computes_the_same(tiny_backbone):
    torch.manual_seed(0)
    model = bb.wrap_lora(
        bb.load_base_model(tiny_backbone, 2),
        2,
        8,
        ["query", "key", "value", "attention.output.dense"],
    )
    for _name, p in model.named_parameters():  # make every LoRA weight non-trivial
        if p.requires_grad:
            p.data.normal_(0, 0.5)
    lora, head = bb.split_state_dict(model)
    layout = layout_of(lora)
    restored = unflatten(flatten(lora, layout), layout)

    fresh = bb.wrap_lora(
        bb.load_base_model(tiny_backbone, 2),
        2,
        8,
        ["query", "key", "value", "attention.output.dense"],
    )
    result = set_peft_model_state_dict(fresh, {**restored, **head})
    assert not [k for k in result.unexpected_keys if "lora_" in k]
    assert not [k for k in result.missing_keys if "lora_" in k]
    tok = bb.load_tokenizer(tiny_backbone)
    ex = data.Examples([("the film was great",), ("dull and boring plot",)], [1, 0])
    enc = evaluation.encode(tok, ex, 32)
    assert torch.equal(
        torch.tensor(evaluation.predict(model, tok, enc)),
        torch.tensor(evaluation.predict(fresh, tok, enc)),
    )
    for k, v in get_peft_model_state_dict(fresh).items():
        assert torch.equal(v, {**lora, **head}[k])


def test_layout_order_is_layer_by_layer():
    lora, _ = bb.split_state_dict(bert_base_lora(1))
    names = list(lora)
    assert names[0].endswith("layer.0.attention.self.query.lora_A.weight")
    assert names[1].endswith("layer.0.attention.self.query.lora_B.weight")
    assert names[-1].endswith("layer.11.attention.output.dense.lora_B.weight")


def test_builtin_tasks_have_two_shot_condition_texts():
    for name in ["sst2", "rte", "mrpc", "cola", "qnli", "stsb"]:
        text = get_task(name).condition_text("twoshot")
        assert "Example 1:" in text and "Example 2:" in text


def test_tiny_tokenizer_knows_the_synthetic_words(tiny_backbone):
    from condpdiff.text.make_synthetic_task import VOCABULARY

    tok = bb.load_tokenizer(tiny_backbone)
    tokens = tok.tokenize(" ".join(VOCABULARY) + " unseen")
    assert tok.unk_token not in tokens
    assert tokens[: len(VOCABULARY)] == [w.lower() for w in VOCABULARY]
