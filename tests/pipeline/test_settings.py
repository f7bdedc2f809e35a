"""Config sections become the entry points' --flags, and each step parses them back to the config's
values."""

from __future__ import annotations

import argparse
import shlex

import pytest

from condpdiff.pipeline import settings
from condpdiff.util import cli


def test_flags_format():
    assert settings.flags(
        {"batch_size": 32, "channels": [8, 16], "head_lr": None, "clip_model": "ViT B"}
    ) == ("--batch-size 32 --channels 8 16 --head-lr none --clip-model 'ViT B'")


def test_lora_alpha_and_backbone_args(smoke_config):
    assert settings.lora_alpha(smoke_config, "4") == 16
    with pytest.raises(KeyError, match="no LoRA alpha for rank 3"):
        settings.lora_alpha(smoke_config, 3)
    args = shlex.split(settings.backbone_task_args(smoke_config, "tiny", 1, "syn_topic"))
    assert args[args.index("--model") + 1] == "results/smoke/backbones/tiny"
    assert args[args.index("--task-file") + 1] == "results/smoke/tasks/syn_topic.json"
    assert (
        args[args.index("--data-source") + 1] == "local"
        and args[args.index("--glue-dir") + 1] == "results/smoke/data/glue"
    )
    assert args[args.index("--rank") + 1] == "1" and args[args.index("--alpha") + 1] == "8"
    hub = {**smoke_config, "data": {"source": "hub"}}
    assert settings.glue_dir(hub) == "" and "--data-source hub" in settings.backbone_task_args(
        hub, "tiny", 1, "t"
    )


def test_backbone_args_parse_with_every_text_step(smoke_config):
    from condpdiff.text.args import add_backbone_task_args

    p = argparse.ArgumentParser()
    add_backbone_task_args(p)
    a = p.parse_args(shlex.split(settings.backbone_task_args(smoke_config, "tiny", 1, "syn_topic")))
    assert a.target_modules == ["query", "key", "value", "attention.output.dense"] and a.alpha == 8


def _section_classes():
    from condpdiff.generator.pdiff.autoencoder import AutoencoderConfig
    from condpdiff.generator.pdiff.denoiser import DenoiserConfig
    from condpdiff.generator.pdiff.sample_candidates import SamplingConfig
    from condpdiff.generator.pdiff.train_autoencoder import AETrainConfig
    from condpdiff.generator.pdiff.train_diffusion import DiffusionTrainConfig
    from condpdiff.text.encode_condition import ConditionConfig
    from condpdiff.text.finetune_lora import FinetuneConfig

    return {
        "sampling": [SamplingConfig],
        "conditions": [ConditionConfig],
        "finetune": [FinetuneConfig],
        "autoencoder": [AutoencoderConfig, AETrainConfig],
        "diffusion": [DenoiserConfig, DiffusionTrainConfig],
    }


@pytest.mark.parametrize(
    "section", ["sampling", "conditions", "finetune", "autoencoder", "diffusion"]
)
def test_a_section_round_trips_through_its_flags(smoke_config, section):
    classes = _section_classes()[section]
    p = argparse.ArgumentParser()
    for cls in classes:
        cli.add_dataclass_args(p, cls)
    ns = p.parse_args(shlex.split(settings.flags(smoke_config[section])))
    parsed = {}
    for cls in classes:
        parsed.update(vars(cli.dataclass_from_args(cls, ns)))
    for key, value in smoke_config[section].items():
        assert parsed[key] == (tuple(value) if isinstance(value, list) else value), (section, key)


def test_scoring_flags_parse_with_the_scorer(smoke_config):
    from condpdiff.text.finetune_lora import FinetuneConfig
    from condpdiff.text.score import ScoringConfig

    p = argparse.ArgumentParser()
    p.add_argument("--splits", nargs="+")
    cli.add_dataclass_args(p, ScoringConfig)
    ns = p.parse_args(shlex.split(settings.scoring_flags(smoke_config, ["selection", "dev"])))
    cfg = cli.dataclass_from_args(ScoringConfig, ns)
    assert ns.splits == ["selection", "dev"]
    assert (
        cfg.max_length == smoke_config["finetune"]["max_length"] == 32
    )  # scoring falls back to fine-tuning's
    # finetune sets neither dev cap nor seed: scoring's defaults must be fine-tuning's
    # (the same dev subset)
    assert cfg.max_dev_examples is None and cfg.dev_seed == FinetuneConfig.seed
    assert cfg.batch_size == 128 and cfg.mixed_precision == "no"
