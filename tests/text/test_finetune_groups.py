"""The optimiser groups of fine-tuning: the head may learn at its own lr; decay on matrices only."""

from __future__ import annotations

import pytest
import torch

from condpdiff.text import backbone as bb
from condpdiff.text.finetune_lora import FinetuneConfig, param_groups

TARGETS = ["query", "key", "value", "attention.output.dense"]


def _model(tiny_backbone, num_labels=2):
    return bb.wrap_lora(bb.load_base_model(tiny_backbone, num_labels), 1, 8, TARGETS)


def _names(model, group):
    ids = {id(p) for p in group["params"]}
    return {n for n, p in model.named_parameters() if id(p) in ids}


@pytest.mark.parametrize("head_lr, expected_head_lr", [(None, 1e-4), (1e-2, 1e-2)])
def test_head_gets_head_lr_and_lora_keeps_lr(tiny_backbone, head_lr, expected_head_lr):
    model = _model(tiny_backbone)
    groups = param_groups(model, FinetuneConfig(lr=1e-4, head_lr=head_lr, weight_decay=0.1))
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    seen = [n for g in groups for n in _names(model, g)]
    assert sorted(seen) == sorted(trainable)  # every trainable tensor once, nothing frozen
    for g in groups:
        names = _names(model, g)
        is_lora = {"lora_" in n for n in names}
        assert len(is_lora) == 1  # LoRA and head never share a group
        assert g["lr"] == (1e-4 if is_lora.pop() else expected_head_lr)
        dims = {p.ndim >= 2 for p in g["params"]}
        assert dims == {g["weight_decay"] > 0}  # decay exactly on the matrices
    head = [n for g in groups for n in _names(model, g) if "lora_" not in n]
    assert head and all("classifier" in n for n in head)


def test_head_lr_moves_a_regression_head_further(tiny_backbone):
    """With the labels' mean far from 0, a larger head lr closes more of the gap in a few steps."""
    torch.manual_seed(0)
    ids = torch.randint(5, 50, (16, 12))
    labels = torch.full((16,), 3.0)

    def final_loss(head_lr):
        model = _model(tiny_backbone, num_labels=1).eval()  # no dropout: deterministic
        cfg = FinetuneConfig(lr=1e-4, head_lr=head_lr, weight_decay=0.0)
        optim = torch.optim.AdamW(param_groups(model, cfg), lr=cfg.lr)
        for _ in range(20):
            loss = torch.nn.functional.mse_loss(model(input_ids=ids).logits.squeeze(-1), labels)
            optim.zero_grad()
            loss.backward()
            optim.step()
        return loss.item()

    assert final_loss(1e-2) < 0.8 * final_loss(None)
