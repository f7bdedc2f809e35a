"""finetune_style_lora on a tiny PixArt: harvest round trip, train images only,
no T5, NaN stops it."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from condpdiff.image.base import encode_prompts
from condpdiff.image.base import latents as lt
from condpdiff.image.base import pixart as px
from condpdiff.image.lora import finetune_style_lora as fs
from condpdiff.image.styles.splitfile import StyleSplitFile
from condpdiff.params.paramfile import ParamSet
from condpdiff.pipeline.artifacts import NonFiniteError

CFG = px.TinyPixArtConfig()  # 16 px images, 8 x 8 latents


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    """A tiny base folder, 6 train + 3 reference images, their split file and prompt cache."""
    from PIL import Image

    root = tmp_path_factory.mktemp("style")
    base = root / "base"
    px.build_tiny_pipeline(CFG, seed=0).save_pretrained(base)
    rng = np.random.default_rng(0)
    entries = []
    for i in range(9):
        path = root / f"img_{i}.png"
        Image.fromarray((rng.random((20, 24, 3)) * 255).astype("uint8")).save(path)
        entries.append(
            {"path": str(path), "caption": f"a photo {i % 2}" if i < 6 else f"a held out photo {i}"}
        )
    split = root / "split.json"
    StyleSplitFile("s1", str(root), 0, entries[:6], entries[6:], ["a red photo"]).save(split)
    prompts = root / "prompts.safetensors"
    encode_prompts.main(
        ["--base", str(base), "--splits", str(split), "--max-length", "16", "--out", str(prompts)]
    )
    return dict(
        base=str(base),
        split=str(split),
        prompts=str(prompts),
        reference=[e["path"] for e in entries[6:]],
    )


def _cfg(**kw) -> fs.StyleFinetuneConfig:
    return fs.StyleFinetuneConfig(
        **{
            **dict(
                steps=12,
                lr=1e-3,
                batch_size=4,
                harvest_last=3,
                harvest_every=2,
                mixed_precision="no",
                threads=1,
                device="cpu",
            ),
            **kw,
        }
    )


def _forward(transformer, data: fs.StyleData) -> torch.Tensor:
    g = torch.Generator().manual_seed(5)
    x = torch.randn(2, CFG.latent_channels, CFG.sample_size, CFG.sample_size, generator=g)
    with torch.no_grad():
        return transformer(
            x,
            encoder_hidden_states=data.embeds[:2],
            encoder_attention_mask=data.mask[:2],
            timestep=torch.tensor([10, 700]),
            added_cond_kwargs=lt.NO_EXTRA,
        ).sample


def test_harvest_round_trip(setup, tmp_path):
    cfg, cpu = _cfg(), torch.device("cpu")
    transformer, scheduler, data = fs.prepare(
        setup["base"], setup["prompts"], setup["split"], cfg, cpu
    )
    assert data.n_train == 6 and len(data.bank) == 12 and data.resolution == CFG.image_size
    pset, summary = fs.train(transformer, scheduler, data, 2, 8, cfg, cpu, info={"style": "s1"})
    pset.save(tmp_path / "harvest.safetensors")
    loaded = ParamSet.load(tmp_path / "harvest.safetensors")
    assert loaded.steps.tolist() == [8, 10, 12] and not loaded.heads
    assert torch.isfinite(loaded.loss).all() and summary["final_train_loss"] == float(
        loaded.loss[-1]
    )
    assert {k: loaded.info[k] for k in ("kind", "task", "domain", "rank", "style")} == {
        "kind": "harvest",
        "task": "style",
        "domain": "image",
        "rank": 2,
        "style": "s1",
    }
    assert not torch.equal(loaded.params[0], loaded.params[-1])  # the LoRA moved between harvests

    fresh = px.add_lora(
        lt.load_denoiser(setup["base"])["transformer"], px.LoraSpec(rank=2, alpha=8)
    )
    assert px.lora_layout(fresh) == loaded.layout
    px.load_lora_state(fresh, loaded.lora_state_dict(loaded.n - 1))
    fresh.eval()
    assert torch.equal(
        _forward(fresh, data), _forward(transformer, data)
    )  # the trained model at the last step


def test_reads_train_images_only_and_no_t5(setup, tmp_path, monkeypatch):
    import PIL.Image
    import transformers

    for path in setup["reference"]:  # corrupt the held-out images: reading one would fail
        with open(path, "wb") as f:
            f.write(b"not an image")
    opened, real_open = [], PIL.Image.open
    monkeypatch.setattr(
        PIL.Image, "open", lambda fp, *a, **k: opened.append(str(fp)) or real_open(fp, *a, **k)
    )

    def no_t5(*a, **k):
        raise AssertionError("fine-tuning loaded the T5 encoder")

    monkeypatch.setattr(transformers.T5EncoderModel, "from_pretrained", no_t5)
    out = tmp_path / "run"
    fs.main(
        [
            "--base",
            setup["base"],
            "--prompts",
            setup["prompts"],
            "--split",
            setup["split"],
            "--style",
            "s1",
            "--rank",
            "1",
            "--alpha",
            "8",
            "--out-dir",
            str(out),
            "--steps",
            "6",
            "--harvest-last",
            "2",
            "--harvest-every",
            "3",
            "--batch-size",
            "2",
            "--lr",
            "1e-3",
            "--threads",
            "1",
            "--device",
            "cpu",
        ]
    )
    assert len(opened) == 6 and not set(opened) & set(setup["reference"])
    assert ParamSet.load(out / "harvest.safetensors").n == 2 and (out / "summary.json").is_file()


def test_nan_loss_raises_and_writes_nothing(setup, tmp_path, monkeypatch):
    monkeypatch.setattr(
        lt, "diffusion_loss", lambda *a, **k: torch.tensor(float("nan"), requires_grad=True)
    )
    out = tmp_path / "run"
    with pytest.raises(NonFiniteError, match="loss is nan at step 1"):
        fs.main(
            [
                "--base",
                setup["base"],
                "--prompts",
                setup["prompts"],
                "--split",
                setup["split"],
                "--style",
                "s1",
                "--rank",
                "1",
                "--alpha",
                "8",
                "--out-dir",
                str(out),
                "--steps",
                "4",
                "--harvest-last",
                "2",
                "--harvest-every",
                "2",
                "--threads",
                "1",
                "--device",
                "cpu",
            ]
        )
    assert not out.exists() or not any(out.iterdir())


def test_too_few_steps_for_the_harvest():
    with pytest.raises(ValueError, match="harvest_last x harvest_every = 64 x 10"):
        fs.StyleFinetuneConfig(steps=600)
    assert fs.harvest_steps(fs.StyleFinetuneConfig(steps=1000))[:2] == [370, 380]


def test_caption_missing_from_cache_is_named(setup, tmp_path):
    from condpdiff.image.base.prompts import PromptCache

    cache = PromptCache.load(setup["prompts"])
    keep = [i for i, p in enumerate(cache.prompts) if p != "a photo 1"]
    PromptCache([cache.prompts[i] for i in keep], cache.embeds[keep], cache.mask[keep]).save(
        tmp_path / "p.safetensors"
    )
    with pytest.raises(KeyError, match="a photo 1"):
        fs.prepare(
            setup["base"],
            str(tmp_path / "p.safetensors"),
            setup["split"],
            _cfg(),
            torch.device("cpu"),
        )


def test_finetune_seed_changes_the_training_not_the_data(setup):
    """Fine-tuning replicate N trains with seed + N on the same split and latents; N = 0 is the
    one-seed run."""
    cpu = torch.device("cpu")

    def run(**kw):
        cfg = _cfg(**kw)
        transformer, scheduler, data = fs.prepare(
            setup["base"], setup["prompts"], setup["split"], cfg, cpu
        )
        pset, _ = fs.train(transformer, scheduler, data, 2, 8, cfg, cpu, info={"style": "s1"})
        return pset, data

    zero, data0 = run(finetune_seed=0)
    one, data1 = run(finetune_seed=1)
    assert data0.n_train == data1.n_train and torch.equal(data0.embeds, data1.embeds)
    assert not torch.equal(zero.params, one.params)
    assert (zero.info["finetune_seed"], one.info["finetune_seed"]) == (0, 1)
    assert torch.equal(run(seed=1)[0].params, one.params)  # replicate 1 = seed 0 + 1
    with pytest.raises(ValueError, match="finetune_seed -1"):
        _cfg(finetune_seed=-1)
