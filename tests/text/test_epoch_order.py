"""finetune.group_by_length: each epoch still visits every example once,
seeded, with less padding."""

from __future__ import annotations

import numpy as np
import torch

from condpdiff.text.finetune_lora import FinetuneConfig, epoch_order
from condpdiff.text.inference import Encoded


def _encoded(lengths) -> Encoded:
    feats = [{"input_ids": [1] * n, "attention_mask": [1] * n} for n in lengths]
    return Encoded(feats, np.zeros(len(lengths)), np.arange(len(lengths)))


def _padded_tokens(lengths, order, batch):
    return sum(
        max(lengths[i] for i in order[s : s + batch]) * len(order[s : s + batch])
        for s in range(0, len(order), batch)
    )


def test_grouped_order_is_a_seeded_permutation_with_less_padding():
    rng = np.random.default_rng(0)
    lengths = rng.integers(5, 128, size=1000).tolist()
    enc = _encoded(lengths)
    plain, grouped = (
        FinetuneConfig(batch_size=32),
        FinetuneConfig(batch_size=32, group_by_length=True),
    )
    a = epoch_order(enc, grouped, torch.Generator().manual_seed(1))
    assert sorted(a) == list(range(1000))  # every example exactly once per epoch
    assert a == epoch_order(enc, grouped, torch.Generator().manual_seed(1))  # seeded
    assert a != epoch_order(enc, grouped, torch.Generator().manual_seed(2))
    random = epoch_order(enc, plain, torch.Generator().manual_seed(1))
    assert sorted(random) == list(range(1000))
    assert _padded_tokens(lengths, a, 32) < 0.8 * _padded_tokens(lengths, random, 32)


def test_default_order_is_unchanged_by_the_switch():
    enc = _encoded([3, 9, 4, 7, 5, 6])
    order = epoch_order(enc, FinetuneConfig(batch_size=2), torch.Generator().manual_seed(42))
    assert order == torch.randperm(6, generator=torch.Generator().manual_seed(42)).tolist()
