"""Settings that only a late job would trip over are refused by the config check, naming the
keys and the values found; each check mirrors a failure of the step itself (shown here for the
cheap ones)."""

from __future__ import annotations

import copy
import dataclasses
from pathlib import Path

import pytest
import yaml

from condpdiff.pipeline import config_constraints as cc
from condpdiff.pipeline.config import ConfigError, check
from condpdiff.text.tasks import get_task

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = ROOT / "workflow/schemas/config.schema.yaml"


def shipped(name: str) -> dict:
    return copy.deepcopy(yaml.safe_load((ROOT / "config" / name).read_text()))


def refused(config: dict) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        check(config, SCHEMA, get_task)
    return info.value


def custom(config: dict, name: str = "syn_sentiment") -> dict:
    return config["custom_tasks"][name]


TEXT = [  # (edit of config/smoke.yaml, key named, words in the message)
    (
        lambda c: c.update(
            autoencoder={**c["autoencoder"], "latent_length": 7},
            diffusion={**c["diffusion"], "channels": [32, 64, 128]},
        ),
        "autoencoder.latent_length",
        ["7 is not divisible by 2**2 = 4", "diffusion.channels = [32, 64, 128]"],
    ),
    (
        lambda c: c["autoencoder"].update(kernel=8),
        "autoencoder.kernel",
        ["expected an odd kernel, found 8"],
    ),
    (
        lambda c: c["diffusion"].update(kernel=4),
        "diffusion.kernel",
        ["expected an odd kernel, found 4"],
    ),
    (
        lambda c: c["sampling"].update(guidance_scale=2.0),
        "sampling.guidance_scale",
        ["2.0 (classifier-free guidance)", "diffusion.cond_drop is 0.0"],
    ),
    (
        lambda c: c["generator"].update(sampler="ddim2000"),
        "generator.sampler",
        ["'ddim2000' asks for 2000 steps"],
    ),
    (
        lambda c: c["ablations"].update(sampler=["ddim20", "ddpm1001"]),
        "ablations.sampler",
        ["1001 steps", "at most 1000"],
    ),
    (lambda c: c["generator"].update(layers="1-0"), "generator.layers", ["'1-0' runs backwards"]),
    (
        lambda c: c["ablations"].update(layers=["2-3", "all"]),
        "ablations.layers",
        ["'2-3' starts at layer 2", "backbone 'tiny' has layers 0..1"],
    ),
    (
        lambda c: c["backbones"]["tiny"]["tiny_random"].update(hidden_size=30, num_heads=4),
        "backbones.tiny.tiny_random.hidden_size",
        ["30 is not a multiple of num_heads 4"],
    ),
    (
        lambda c: c["scoring"].update(selection_from="heldout"),
        "scoring.selection_from",
        ["finetune.max_train_examples is not set"],
    ),
    (
        lambda c: (
            c["scoring"].update(selection_from="heldout"),
            c["finetune"].update(max_train_examples=256),
        ),
        "scoring.selection_from",
        ["256, the synthetic train_size is 256"],
    ),
    (
        lambda c: c["finetune"].update(harvest_last=200, epochs=8),
        "finetune.harvest_last",
        [
            "200 checkpoints",
            "8 epochs x ceil(256 examples (data.synthetic.train_size) / batch_size 16) = 128",
        ],
    ),
    (
        lambda c: c["finetune"].update(max_train_examples=16, harvest_last=20),
        "finetune.harvest_last",
        ["16 examples (finetune.max_train_examples)", "= 8 optimisation steps"],
    ),
    (
        lambda c: custom(c, "syn_overlap").update(metric="accuracy"),
        "custom_tasks.syn_overlap.metric",
        ["regression task (num_labels 1) needs 'pearson'"],
    ),
    (
        lambda c: custom(c, "syn_topic").update(num_labels=3),
        "custom_tasks.syn_topic.metric",
        ["'f1' is the binary F1", "num_labels 3"],
    ),
    (
        lambda c: custom(c)["tsv"].update(label_map={"pos": 1, "neg": 2}),
        "custom_tasks.syn_sentiment.tsv.label_map",
        ["{'neg': 2} maps to no class", "0..1"],
    ),
    (
        lambda c: custom(c)["tsv"].update(header=False),
        "custom_tasks.syn_sentiment.tsv.text_columns",
        ["0-based column indices", "['sentence']"],
    ),
    (
        lambda c: custom(c)["tsv"].update(text_columns=[0]),
        "custom_tasks.syn_sentiment.tsv.text_columns",
        ["column names (the file has a header), found [0]"],
    ),
    (
        lambda c: custom(c)["tsv"].update(columns=["text", "label"]),
        "custom_tasks.syn_sentiment.tsv.text_columns",
        ["['sentence'] not among tsv.columns ['text', 'label']"],
    ),
    (
        lambda c: (c["targets"].append("analyses"), c["analysis"].update(trajectory={"paths": 30})),
        "analysis.trajectory.paths",
        ["30 paths, but sampling.num_candidates is 20"],
    ),
    (
        lambda c: (
            c["targets"].append("analyses"),
            c["analysis"].update(trajectory={"points": 21}),
        ),
        "analysis.trajectory.points",
        ["21 points, but generator.sampler 'ddim20' has 20 steps"],
    ),
    (
        lambda c: (
            c["targets"].append("analyses"),
            c["generator"].update(n=1),
            c["ablations"].update(n=[1]),
            c["analysis"].update(projection={"components": 4}),
        ),
        "analysis.projection.components",
        ["4 components", "generator.n 1 x 3 tasks = 3 checkpoints"],
    ),
]


def smoke_for_analyses(config: dict) -> dict:
    config.setdefault("analysis", {})
    config["compare_generators"] = []  # analyses need no direct generator; table_direct does
    config["targets"] = [t for t in config["targets"] if t != "table_direct"]
    return config


@pytest.mark.parametrize("edit,key,words", TEXT, ids=[t[1] + str(i) for i, t in enumerate(TEXT)])
def test_text_setting_that_fails_late_is_refused(edit, key, words):
    config = smoke_for_analyses(shipped("smoke.yaml"))
    edit(config)
    err = refused(config)
    assert err.key == key, str(err)
    for w in words:
        assert w in str(err), (w, str(err))


IMAGE = [  # (edit of config/smoke_image.yaml, key named, words in the message)
    (
        lambda c: c["image"]["generalisation"].update(
            diffusion={"channels": [8, 8, 16, 16, 32, 32]}
        ),
        "autoencoder.latent_length",
        ["16 is not divisible by 2**5 = 32", "image.generalisation.diffusion.channels"],
    ),
    (
        lambda c: c["image"]["generalisation"].update(autoencoder={"kernel": 4}),
        "image.generalisation.autoencoder.kernel",
        ["found 4"],
    ),
    (
        lambda c: c["image"]["generator"].update(sampler="ddpm1500"),
        "image.generator.sampler",
        ["1500 steps"],
    ),
    (
        lambda c: c["image"]["generator"].update(layers="3-3"),
        "image.generator.layers",
        ["base 'tinypix' has layers 0..1"],
    ),
    (
        lambda c: c["image"]["bases"]["tinypix"]["tiny_random"].update(sample_size=7),
        "image.bases.tinypix.tiny_random.sample_size",
        ["7 is not a multiple of the patch size 2"],
    ),
    (
        lambda c: c["image"]["bases"]["tinypix"]["tiny_random"].update(vae_channels=[16, 24]),
        "image.bases.tinypix.tiny_random.vae_channels",
        ["[16, 24]: expected multiples of 16"],
    ),
    (
        lambda c: c["image"]["bases"]["tinypix"]["tiny_random"].update(text_dim=30),
        "image.bases.tinypix.tiny_random.text_dim",
        ["30 is not a multiple"],
    ),
    (
        lambda c: c["image"]["split"].update(n_reference=47),
        "image.split.n_reference",
        ["47 reference + 2 train images do not fit the 48 images", "['edges', 'invert', 'sepia']"],
    ),
    (
        lambda c: c["image"]["split"].update(group_by="prefix"),
        "image.split.group_by",
        ["shape_NNNN (one group)"],
    ),
    (
        lambda c: (
            c["image"]["styles"].update(photo={"stylize": "stl-01"}),
            c["image"]["style_images"].update(crop=128),
        ),
        "image.style_images.crop",
        ["128 px", "short_side 96 px"],
    ),
    (
        lambda c: (
            c["analysis"].update(trajectory={"points": 21})
            if "analysis" in c
            else c.update(analysis={"trajectory": {"points": 21}})
        ),
        "analysis.trajectory.points",
        ["image.generator.sampler 'ddim20' has 20 steps"],
    ),
]


@pytest.mark.parametrize("edit,key,words", IMAGE, ids=[t[1] + str(i) for i, t in enumerate(IMAGE)])
def test_image_setting_that_fails_late_is_refused(edit, key, words):
    config = shipped("smoke_image.yaml")
    edit(config)
    err = refused(config)
    assert err.key == key, str(err)
    for w in words:
        assert w in str(err), (w, str(err))


def test_the_valid_neighbours_of_the_refused_settings_pass():
    config = smoke_for_analyses(shipped("smoke.yaml"))
    config["autoencoder"]["latent_length"] = 12  # 2 levels: a multiple of 2 is enough
    config["generator"]["sampler"] = "ddpm1000"
    config["ablations"]["layers"] = ["1-1", "0-9"]  # 0-9 on 2 layers selects 0-1: runs
    config["sampling"].update(guidance_scale=2.0)
    config["diffusion"]["cond_drop"] = 0.1
    config["custom_tasks"]["syn_sentiment"]["tsv"]["columns"] = ["sentence", "label"]
    check(config, SCHEMA, get_task)


def _defaults(cls) -> dict:
    return {
        f.name: f.default for f in dataclasses.fields(cls) if f.default is not dataclasses.MISSING
    }


def test_defaults_the_checks_assume_are_the_steps_defaults():
    from condpdiff.generator.pdiff.autoencoder import AutoencoderConfig
    from condpdiff.generator.pdiff.denoiser import DenoiserConfig
    from condpdiff.generator.pdiff.noise import NoiseConfig
    from condpdiff.generator.pdiff.train_diffusion import DiffusionTrainConfig
    from condpdiff.image.base.pixart import TinyPixArtConfig
    from condpdiff.text.finetune_lora import FinetuneConfig

    steps = {
        "autoencoder": _defaults(AutoencoderConfig),
        "diffusion": {**_defaults(DenoiserConfig), **_defaults(DiffusionTrainConfig)},
        "finetune": _defaults(FinetuneConfig),
        "tiny_pixart": _defaults(TinyPixArtConfig),
    }
    for block, values in cc.DEFAULTS.items():
        for key, value in values.items():
            assert steps[block][key] == value, (block, key)
    assert NoiseConfig().num_train_timesteps == cc.TRAIN_TIMESTEPS


def test_split_and_procedural_constants_are_the_steps():
    import inspect

    from condpdiff.image.styles import make_style_folder, split_style

    assert f'"--min-train", type=int, default={cc.MIN_TRAIN_IMAGES}' in inspect.getsource(
        split_style.main
    )
    assert f'f"{cc.PROCEDURAL_PREFIX}_' in inspect.getsource(make_style_folder.procedural_folder)


def test_the_steps_fail_on_the_refused_settings():
    """The checks are not invented: the networks and the scheduler fail on what they refuse."""
    import torch

    from condpdiff.generator.pdiff.autoencoder import AutoencoderConfig, ParamAutoencoder
    from condpdiff.generator.pdiff.denoiser import DenoiserConfig, UNet1D
    from condpdiff.generator.pdiff.noise import NoiseConfig, make_scheduler

    with pytest.raises(ValueError, match="not divisible"):
        UNet1D(DenoiserConfig(channels=(8, 16, 32), emb_dim=8, bottom_hidden=8), 4, 7, 3)
    with pytest.raises(ValueError, match="odd"):
        ParamAutoencoder(AutoencoderConfig(channels=(4,), kernel=8), 100)
    net = UNet1D(DenoiserConfig(channels=(8, 16), kernel=4, emb_dim=8, bottom_hidden=8), 4, 16, 3)
    with pytest.raises(RuntimeError):
        net(torch.randn(2, 4, 16), torch.tensor([1, 2]), torch.randn(2, 3))
    with pytest.raises(ValueError, match="cannot be larger"):
        make_scheduler(NoiseConfig(), "ddim").set_timesteps(cc.TRAIN_TIMESTEPS + 1)
