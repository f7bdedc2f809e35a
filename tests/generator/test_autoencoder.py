"""The parameter autoencoder: shapes with padding, low reconstruction error, file round trip."""

from __future__ import annotations

import pytest
import torch

from condpdiff.generator.modelio import save_model
from condpdiff.generator.pdiff.autoencoder import (
    KIND,
    AutoencoderConfig,
    ParamAutoencoder,
    encode_all,
    load_autoencoder,
    reconstruct,
)
from condpdiff.generator.pdiff.train_autoencoder import AETrainConfig, train

NET = AutoencoderConfig(
    channels=(8, 16, 32), kernel=5, stride=4, latent_channels=2, latent_length=8
)


def low_rank_rows(n=24, k=300, rank=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    basis = torch.randn(rank, k, generator=g)
    return torch.randn(n, rank, generator=g) @ basis / rank**0.5


def test_shapes_with_padding():
    ae = ParamAutoencoder(NET, 300)  # 300 is not a multiple of 4**3 = 64: padded internally
    assert ae.padded == 320 and ae.bottom_len == 5
    x = torch.randn(5, 300)
    assert ae.encode(x).shape == (5, 2, 8)
    assert ae(x).shape == (5, 300)


def test_noise_in_training_mode_only():
    torch.manual_seed(0)
    ae = ParamAutoencoder(NET, 300)
    x = torch.randn(3, 300)
    ae.train()
    assert not torch.equal(ae(x), ae(x))  # input and latent noise: the check below is not vacuous
    ae.eval()
    assert torch.equal(ae(x), ae(x)) and torch.equal(ae(x), ae.decode(ae.encode(x)))


@pytest.mark.slow
def test_reconstructs_a_small_parameter_set():
    torch.set_num_threads(1)
    x = low_rank_rows()
    model, curve = train(x, NET, AETrainConfig(steps=400, batch_size=24, lr=3e-3, device="cpu"))
    mse = float(((reconstruct(model, x) - x) ** 2).mean())
    assert mse < 0.05 * float(x.var()), (mse, float(x.var()))
    assert len(curve) == 400 and curve[-1]["loss"] < curve[0]["loss"]


def test_checkpoint_round_trip(tmp_path):
    model = ParamAutoencoder(NET, 300).eval()
    save_model(tmp_path / "ae", model, KIND)
    again = load_autoencoder(tmp_path / "ae")
    assert again.cfg == model.cfg and again.in_dim == 300
    x = torch.randn(4, 300)
    assert torch.equal(encode_all(model, x), encode_all(again, x))
    assert torch.equal(reconstruct(model, x), reconstruct(again, x))
