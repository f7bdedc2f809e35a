"""Sorting a split by length for batching must not scramble predictions against labels."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import torch

from condpdiff.text import data
from condpdiff.text import inference as evaluation
from condpdiff.text.tasks import GLUE_TASKS


class LengthParity(torch.nn.Module):
    """Predicts class (number of real tokens) % 2: a known answer per example."""

    def __init__(self):
        super().__init__()
        self.dummy = torch.nn.Parameter(torch.zeros(1))

    def forward(self, input_ids, attention_mask, **_):
        parity = attention_mask.sum(1) % 2
        return SimpleNamespace(logits=torch.nn.functional.one_hot(parity, 2).float())


def test_predictions_line_up_with_labels_after_length_sorting(tiny_backbone):
    from condpdiff.text.backbone import load_tokenizer

    tok = load_tokenizer(tiny_backbone)
    texts = [("the " * n).strip() for n in [7, 1, 4, 2, 9, 3, 6, 5, 8, 2]]
    labels = [int((n + 2) % 2) for n in [7, 1, 4, 2, 9, 3, 6, 5, 8, 2]]  # + [CLS] and [SEP]
    examples = data.Examples([(t,) for t in texts], labels)
    enc = evaluation.encode(tok, examples, max_length=32)
    assert not np.array_equal(enc.order, np.arange(len(texts)))  # sorting really happened
    logits = evaluation.predict(LengthParity(), tok, enc, batch_size=3)
    assert logits.argmax(1).tolist() == labels
    assert (
        evaluation.evaluate(LengthParity(), tok, enc, GLUE_TASKS["sst2"], batch_size=3)["accuracy"]
        == 100.0
    )
