"""Fine-tuning seed N (config seeds.finetune, path part -ftseed{N}): the same data subsets, other
training randomness; N = 0 is the one-seed run (training seed = the data seed)."""

from __future__ import annotations

import pytest
import torch

from condpdiff.text.finetune_lora import FinetuneConfig, finetune, load_subsets, training_seed
from condpdiff.text.tasks import task_from_config

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
CAPS = dict(max_train_examples=24, max_dev_examples=10)  # of 64 train / 32 dev


def _cfg(**kw) -> FinetuneConfig:
    return FinetuneConfig(
        epochs=2, batch_size=8, lr=5e-3, harvest_last=2, max_length=32, **{**CAPS, **kw}
    )


def test_every_finetune_seed_draws_the_same_subsets(synthetic_glue):
    subsets = {
        n: load_subsets(SENTIMENT, _cfg(finetune_seed=n), "local", synthetic_glue)
        for n in (0, 1, 7)
    }
    for n in (1, 7):
        for split in (0, 1):
            assert subsets[n][split].texts == subsets[0][split].texts
            assert subsets[n][split].labels == subsets[0][split].labels
    train, dev = subsets[0]
    assert (len(train), len(dev)) == (24, 10)
    # the data seed does change them: the caps above draw a proper subset
    other = load_subsets(SENTIMENT, _cfg(seed=43), "local", synthetic_glue)
    assert other[0].texts != train.texts


def test_training_seed_is_the_data_seed_plus_the_replicate():
    assert training_seed(FinetuneConfig()) == 42  # replicate 0: the one-seed run's seed
    assert training_seed(FinetuneConfig(finetune_seed=3)) == 45


@pytest.mark.slow  # fine-tunes three times
def test_finetune_seed_changes_the_training_and_nothing_else(
    tiny_backbone, synthetic_glue, tmp_path
):
    def run(**kw):
        cfg = _cfg(**kw)
        train, dev = load_subsets(SENTIMENT, cfg, "local", synthetic_glue)
        return finetune(
            tiny_backbone,
            SENTIMENT,
            train,
            dev,
            rank=2,
            alpha=8,
            target_modules=["query", "value"],
            cfg=cfg,
            device=torch.device("cpu"),
        )

    seed0, summary0 = run(seed=42, finetune_seed=0)
    seed1, summary1 = run(seed=42, finetune_seed=1)
    assert summary0["n_train"] == summary1["n_train"] == 24
    assert summary0["n_dev"] == summary1["n_dev"] == 10
    assert not torch.equal(seed0.params, seed1.params)  # other init / batch order / dropout
    assert (seed0.info["finetune_seed"], seed1.info["finetune_seed"]) == (0, 1)
    # replicate 1 trains with seed 43: what a data seed of 43 trains with, on the same examples
    same = finetune(
        tiny_backbone,
        SENTIMENT,
        *load_subsets(SENTIMENT, _cfg(seed=42), "local", synthetic_glue),
        rank=2,
        alpha=8,
        target_modules=["query", "value"],
        cfg=_cfg(seed=43),
        device=torch.device("cpu"),
    )[0]
    assert torch.equal(same.params, seed1.params)
