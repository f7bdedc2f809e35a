"""Shared fixtures: tiny models and data built on the fly, so tests need no network and no files.

Tests find the repository's files from ``ROOT`` (never from the current directory), so
``pytest`` runs the same from any folder.
"""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from condpdiff.text.build_tiny_backbone import TinyBertConfig, build

ROOT = Path(__file__).resolve().parents[1]  # the repository root
SCHEMA = ROOT / "workflow" / "schemas" / "config.schema.yaml"


@pytest.fixture(scope="session")
def _validated_smoke() -> dict:
    import yaml
    from snakemake.utils import validate

    config = yaml.safe_load((ROOT / "config" / "smoke.yaml").read_text())
    validate(config, str(SCHEMA))  # as the workflow does: fills in the schema's defaults
    return config


@pytest.fixture
def smoke_config(_validated_smoke) -> dict:
    """config/smoke.yaml with the schema's defaults filled in,
    as the workflow sees it (a fresh copy)."""
    return copy.deepcopy(_validated_smoke)


@pytest.fixture(scope="session")
def tiny_backbone(tmp_path_factory) -> str:
    """A 2-layer, 32-wide random BERT with a word-piece tokenizer, saved like a hub model."""
    out = tmp_path_factory.mktemp("backbone") / "tiny"
    build(str(out), TinyBertConfig())
    return str(out)


@pytest.fixture(scope="session")
def synthetic_glue(tmp_path_factory):
    """The three synthetic tasks in the classic GLUE layout (folder per task with train/dev tsv)."""
    from pathlib import Path

    from condpdiff.text.make_synthetic_task import KINDS, write_kind

    root = Path(tmp_path_factory.mktemp("glue"))
    for kind in KINDS:
        write_kind(root, kind, {"train": 64, "dev": 32}, seed=0)
    return root


# --- scoring and its users (tests/text/test_scoring.py, ...) ---


@pytest.fixture(scope="session")
def sentiment_task():
    """The smoke config's single-sentence synthetic task,
    read from `synthetic_glue`'s 'sentiment' folder."""
    from condpdiff.text.tasks import task_from_config

    return task_from_config(
        "syn_sentiment",
        {
            "num_labels": 2,
            "metric": "accuracy",
            "description": "Decide whether a short review has more positive than negative words.",
            "examples": [],
            "glue_dir": "sentiment",
            "tsv": {"text_columns": ["sentence"], "label_column": "label"},
        },
    )


@pytest.fixture(scope="session")
def random_paramset(tiny_backbone):
    """factory(n, seed, num_labels=2, rank=1) -> ParamSet of n random LoRA vectors + heads for
    `tiny_backbone`."""
    import torch

    from condpdiff.params.paramfile import ParamSet, flatten, layout_of
    from condpdiff.text import backbone as bb

    def make(
        n: int = 3, seed: int = 0, num_labels: int = 2, rank: int = 1, scale: float = 0.5
    ) -> ParamSet:
        model = bb.wrap_lora(
            bb.load_base_model(tiny_backbone, num_labels), rank, 8, ["query", "key", "value"]
        )
        lora, head = bb.split_state_dict(model)
        layout = layout_of(lora)
        g = torch.Generator().manual_seed(seed)
        base = flatten(lora, layout)
        params = base + scale * torch.randn(n, base.numel(), generator=g)
        heads = {
            k: v.float() + scale * torch.randn(n, *v.shape, generator=g) for k, v in head.items()
        }
        return ParamSet(
            params=params,
            layout=layout,
            steps=torch.arange(n),
            loss=torch.full((n,), float("nan")),
            heads=heads,
            info={"rank": rank},
        )

    return make


# --- bad inputs (tests/*/test_bad_*.py, tests/text/test_diverged_training.py) ---


@pytest.fixture
def assert_not_written():
    """check(*paths): nothing at any of `paths`, and no atomic-write temp file
    (``.NAME.*.tmp``) beside them."""

    def check(*paths) -> None:
        for path in map(Path, paths):
            assert not path.exists(), f"{path} was written"
            if path.parent.exists():
                left = sorted(p.name for p in path.parent.glob(".*.tmp"))
                assert not left, f"temp files left in {path.parent}: {left}"

    return check
