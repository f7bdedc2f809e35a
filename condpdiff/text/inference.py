"""Tokenise a split once and run a (peft) classifier over it: shared by fine-tuning and scoring."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from condpdiff.text import metrics
from condpdiff.text.data import Examples
from condpdiff.text.tasks import Task


@dataclass
class Encoded:
    """Token ids of a split, sorted by length so batches need little padding."""

    features: list[dict]  # per example: input_ids, attention_mask, (token_type_ids)
    labels: np.ndarray  # in the split's ORIGINAL order (not sorted like features)
    order: np.ndarray  # features[i] is example order[i]

    def __len__(self) -> int:
        return len(self.features)


def encode(tokenizer, examples: Examples, max_length: int, sort_by_length: bool = True) -> Encoded:
    columns = list(zip(*examples.texts)) if len(examples) else [[]]
    enc = tokenizer(*columns, truncation=True, max_length=max_length)
    feats = [{k: enc[k][i] for k in enc.keys()} for i in range(len(examples))]
    order = np.arange(len(feats))
    if sort_by_length:
        order = np.argsort([len(f["input_ids"]) for f in feats], kind="stable")
        feats = [feats[i] for i in order]
    return Encoded(feats, np.asarray(examples.labels), order)


def batches(tokenizer, encoded: Encoded, batch_size: int, device):
    for start in range(0, len(encoded), batch_size):
        chunk = encoded.features[start : start + batch_size]
        yield {k: v.to(device) for k, v in tokenizer.pad(chunk, return_tensors="pt").items()}


def pad_batches(tokenizer, encoded: Encoded, batch_size: int, device) -> list[dict]:
    """All padded batches of a split, built once (scoring many candidates re-uses them)."""
    return list(batches(tokenizer, encoded, batch_size, device))


@torch.no_grad()
def predict(
    model,
    tokenizer,
    encoded: Encoded,
    batch_size: int = 128,
    autocast_dtype=None,
    padded: list | None = None,
) -> np.ndarray:
    """Logits for every example, in the split's original order (`padded`: batches from
    `pad_batches`)."""
    model.eval()
    device = next(model.parameters()).device
    outs = []
    source = padded if padded is not None else batches(tokenizer, encoded, batch_size, device)
    for batch in source:
        with torch.autocast(device.type, dtype=autocast_dtype, enabled=autocast_dtype is not None):
            outs.append(model(**batch).logits.float().cpu())
    logits = torch.cat(outs).numpy() if outs else np.zeros((0, 1))
    unsorted = np.empty_like(logits)
    unsorted[encoded.order] = logits
    return unsorted


def evaluate(
    model,
    tokenizer,
    encoded: Encoded,
    task: Task,
    batch_size: int = 128,
    autocast_dtype=None,
    padded=None,
) -> dict:
    logits = predict(model, tokenizer, encoded, batch_size, autocast_dtype, padded)
    labels = encoded.labels  # already in the split's original order, like the logits
    preds = metrics.predictions_from_logits(logits, task.is_regression)
    return metrics.compute(task.metric, preds, labels)
