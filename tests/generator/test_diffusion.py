"""Conditional latent diffusion: per-sample timesteps, conditioning works, seeded,
both samplers, round trip."""

from __future__ import annotations

import pytest
import torch

from condpdiff.generator.modelio import save_model
from condpdiff.generator.pdiff import autoencoder, noise, train_autoencoder, train_diffusion
from condpdiff.generator.pdiff.autoencoder import AutoencoderConfig, encode_all, load_autoencoder
from condpdiff.generator.pdiff.denoiser import DenoiserConfig, UNet1D, timestep_embedding
from condpdiff.generator.pdiff.noise import (
    LatentDiffusion,
    NoiseConfig,
    load_diffusion,
    parse_sampler,
    sample,
)
from condpdiff.generator.pdiff.sample_candidates import SamplingConfig, generate

K = 96
AE_NET = AutoencoderConfig(channels=(8, 16), kernel=5, stride=4, latent_channels=2, latent_length=8)
DIFF_NET = DenoiserConfig(channels=(32, 64), emb_dim=64, bottom_hidden=64)


def two_tasks(n=16, seed=0):
    """Two tasks whose vectors differ: +pattern and -pattern, each with a little spread."""
    g = torch.Generator().manual_seed(seed)
    pattern = torch.randn(K, generator=g).sign()
    rows = [
        pattern + 0.1 * torch.randn(n, K, generator=g),
        -pattern + 0.1 * torch.randn(n, K, generator=g),
    ]
    return torch.cat(rows), torch.cat(
        [torch.zeros(n, dtype=torch.long), torch.ones(n, dtype=torch.long)]
    )


def fit(ae_steps: int, diffusion_steps: int):
    torch.set_num_threads(1)
    x, ids = two_tasks()
    ae_cfg = train_autoencoder.AETrainConfig(steps=ae_steps, batch_size=32, lr=3e-3, device="cpu")
    ae, _ = train_autoencoder.train(x, AE_NET, ae_cfg)
    latents = encode_all(ae, x)
    conds = torch.eye(2)[ids]
    cfg = train_diffusion.DiffusionTrainConfig(
        steps=diffusion_steps, batch_size=32, lr=2e-3, device="cpu"
    )
    diff, curve = train_diffusion.train(latents, conds, DIFF_NET, cfg)
    return x, ids, ae, diff, curve


@pytest.fixture(scope="module")
def trained():
    """Trained long enough to follow the condition (about 15 s on 2 CPU cores: slow tests only)."""
    return fit(300, 600)


@pytest.fixture(scope="module")
def quick():
    """A few steps each: enough for file formats, seeding and standardisation."""
    return fit(10, 10)


def test_timestep_embedding_is_per_sample():
    t = torch.tensor([0, 10, 999])
    emb = timestep_embedding(t, 16)
    for i in range(3):
        assert torch.allclose(emb[i], timestep_embedding(t[i : i + 1], 16)[0])
    assert not torch.allclose(emb[0], emb[1])


def test_output_i_depends_only_on_t_i():
    torch.manual_seed(0)
    net = UNet1D(DIFF_NET, 2, 8, 3).eval()
    torch.nn.init.normal_(
        net.out[-1].weight
    )  # the zero-initialised output layer would hide everything
    x, c = torch.randn(4, 2, 8), torch.randn(4, 3)
    t = torch.tensor([1, 250, 500, 999])
    out = net(x, t, c)
    t2 = t.clone()
    t2[1:] = torch.tensor([7, 8, 9])
    out2 = net(x, t2, c)
    assert torch.allclose(
        out[0], out2[0], atol=1e-6
    )  # sample 0 ignores the other samples' timesteps
    assert not torch.allclose(out[1], out2[1])  # and sample 1 does see its own
    for i in range(4):  # the same as running each sample alone
        assert torch.allclose(out[i], net(x[i : i + 1], t[i : i + 1], c[i : i + 1])[0], atol=1e-5)


@pytest.mark.slow
def test_training_loss_goes_down(trained):
    curve = trained[4]
    first = sum(r["loss"] for r in curve[:50]) / 50
    last = sum(r["loss"] for r in curve[-50:]) / 50
    assert last < 0.7 * first, (first, last)


@pytest.mark.slow
@pytest.mark.parametrize("sampler", ["ddim50", "ddpm250"])
def test_samples_follow_the_condition(trained, sampler):
    x, ids, ae, diff, _ = trained
    for task in (0, 1):
        cand = generate(
            diff, ae, torch.eye(2)[task], sampler, SamplingConfig(num_candidates=20, device="cpu")
        )
        assert cand.shape == (20, K) and torch.isfinite(cand).all()
        nearest = torch.cdist(cand, x).argmin(dim=1)
        assert (ids[nearest] == task).all(), (
            f"{sampler} task {task}: nearest rows {ids[nearest].tolist()}"
        )


def test_seeded_sampling_is_deterministic(quick):
    _, _, ae, diff, _ = quick
    cond = torch.eye(2)[0]
    a = generate(diff, ae, cond, "ddpm20", SamplingConfig(seed=3, device="cpu"))
    b = generate(diff, ae, cond, "ddpm20", SamplingConfig(seed=3, device="cpu"))
    c = generate(diff, ae, cond, "ddpm20", SamplingConfig(seed=4, device="cpu"))
    assert torch.equal(a, b)
    assert not torch.equal(a, c)


def test_checkpoint_round_trip(quick, tmp_path):
    _, _, ae, diff, _ = quick
    save_model(tmp_path / "diff", diff, noise.KIND)
    save_model(tmp_path / "ae", ae, autoencoder.KIND)
    diff2, ae2 = load_diffusion(tmp_path / "diff"), load_autoencoder(tmp_path / "ae")
    assert float(diff2.scale) == float(diff.scale) and float(diff2.shift) == float(diff.shift)
    cfg = SamplingConfig(num_candidates=5, seed=1, device="cpu")
    cond = torch.eye(2)[1]
    assert torch.equal(
        generate(diff, ae, cond, "ddim20", cfg), generate(diff2, ae2, cond, "ddim20", cfg)
    )
    with pytest.raises(
        ValueError,
        match=(
            r"ae/config\.json: a model of another kind; expected 'diffusion'; found 'autoencoder'"
        ),
    ):
        load_diffusion(tmp_path / "ae")


def test_latents_are_standardised(quick):
    x, _, ae, diff, _ = quick
    u = diff.to_unit(encode_all(ae, x))
    assert abs(float(u.std()) - 1) < 1e-3 and abs(float(u.mean())) < 1e-3


def test_classifier_free_guidance():
    """Scale 1 is exactly the unguided sampler, scale 2 moves the samples,
    scale 0 ignores the condition."""
    torch.set_num_threads(1)
    latents, conds = torch.randn(8, 2, 8), torch.eye(2)[torch.tensor([0, 1] * 4)]
    cfg = train_diffusion.DiffusionTrainConfig(steps=5, batch_size=8, cond_drop=0.5, device="cpu")
    model, _ = train_diffusion.train(latents, conds, DIFF_NET, cfg)
    with (
        torch.no_grad()
    ):  # 5 steps leave the zero-initialised output layer near 0: make eps(cond) != eps(null)
        g = torch.Generator().manual_seed(1)
        model.net.out[-1].weight.copy_(
            0.3 * torch.randn(model.net.out[-1].weight.shape, generator=g)
        )
        model.net.null_cond.copy_(torch.randn(model.net.null_cond.shape, generator=g))

    def run(c, **kw):
        return sample(model, c, "ddim10", torch.Generator().manual_seed(0), **kw)

    unguided = run(conds[:3])
    assert unguided.shape == (3, 2, 8) and torch.isfinite(unguided).all()
    assert torch.equal(run(conds[:3], guidance_scale=1.0), unguided)
    guided = run(conds[:3], guidance_scale=2.0)
    assert torch.isfinite(guided).all() and (guided - unguided).abs().max() > 1e-3
    # scale 0 keeps only the unconditional prediction: both tasks' conditions give the same samples
    a, b = (
        run(conds[0:1].expand(3, -1), guidance_scale=0.0),
        run(conds[1:2].expand(3, -1), guidance_scale=0.0),
    )
    torch.testing.assert_close(a, b, rtol=0, atol=1e-6)
    assert not torch.allclose(
        run(conds[0:1].expand(3, -1)), run(conds[1:2].expand(3, -1)), atol=1e-3
    )


def test_sampler_names():
    assert parse_sampler("ddim50") == ("ddim", 50)
    assert parse_sampler("ddpm1000") == ("ddpm", 1000)
    with pytest.raises(ValueError, match="ddim50"):
        parse_sampler("dpm20")


def test_latent_length_must_fit_the_levels():
    with pytest.raises(ValueError, match="divisible"):
        UNet1D(DenoiserConfig(channels=(8, 8, 8)), 2, 6, 3)
    LatentDiffusion(UNet1D(DIFF_NET, 2, 8, 3), NoiseConfig())
