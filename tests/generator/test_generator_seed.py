"""Generator seed N (config seeds.generator, path part -genseed{N}): the autoencoder, diffusion
and direct trainings and the sampling run with their configured seed + N, so N = 0 is the
one-seed run and N > 0 another replicate."""

from __future__ import annotations

import pytest
import torch

from condpdiff.generator import training
from condpdiff.generator.direct.sample_direct import DirectSamplingConfig
from condpdiff.generator.direct.train_direct import DirectTrainConfig
from condpdiff.generator.pdiff import train_autoencoder, train_diffusion
from condpdiff.generator.pdiff.autoencoder import AutoencoderConfig, encode_all
from condpdiff.generator.pdiff.denoiser import DenoiserConfig
from condpdiff.generator.pdiff.sample_candidates import SamplingConfig, generate

AE_NET = AutoencoderConfig(channels=(8,), kernel=5, stride=4, latent_channels=2, latent_length=8)
DIFF_NET = DenoiserConfig(channels=(16, 32), emb_dim=16, bottom_hidden=16)
X = torch.randn(12, 32, generator=torch.Generator().manual_seed(0))


@pytest.mark.parametrize(
    "cfg",
    [
        train_autoencoder.AETrainConfig,
        train_diffusion.DiffusionTrainConfig,
        DirectTrainConfig,
        SamplingConfig,
        DirectSamplingConfig,
    ],
)
def test_every_generator_step_runs_with_its_seed_plus_the_replicate(cfg):
    assert training.run_seed(cfg(seed=5)) == 5
    assert training.run_seed(cfg(seed=5, generator_seed=2)) == 7
    with pytest.raises(ValueError, match="generator_seed -1"):
        training.run_seed(cfg(generator_seed=-1))


def _autoencoder(**kw):
    torch.set_num_threads(1)
    cfg = train_autoencoder.AETrainConfig(steps=3, batch_size=4, device="cpu", **kw)
    return train_autoencoder.train(X, AE_NET, cfg)[0]


def test_a_generator_seed_retrains_and_resamples():
    ae0, ae2 = _autoencoder(), _autoencoder(generator_seed=2)
    w0, w2 = (torch.cat([p.flatten() for p in m.parameters()]) for m in (ae0, ae2))
    assert not torch.equal(w0, w2)
    w_seed2 = torch.cat([p.flatten() for p in _autoencoder(seed=2).parameters()])
    assert torch.equal(w2, w_seed2)  # replicate 2 of seed 0 is seed 2

    latents = encode_all(ae0, X)
    cfg = train_diffusion.DiffusionTrainConfig(steps=2, batch_size=4, device="cpu")
    diffusion, _ = train_diffusion.train(latents, torch.eye(2)[torch.arange(12) % 2], DIFF_NET, cfg)
    cond = torch.tensor([1.0, 0.0])
    draws = {
        n: generate(
            diffusion,
            ae0,
            cond,
            "ddim4",
            SamplingConfig(num_candidates=3, generator_seed=n, device="cpu"),
        )
        for n in (0, 1)
    }
    assert not torch.equal(draws[0], draws[1])
    same = generate(
        diffusion, ae0, cond, "ddim4", SamplingConfig(num_candidates=3, seed=1, device="cpu")
    )
    assert torch.equal(same, draws[1])
