"""Image-style (conv) conditions in the generator: the projector, per-style map draws in training,
saving and reloading a conv model, and candidate i conditioned on image i mod n."""

from __future__ import annotations

import json

import pytest
import torch

from condpdiff.conditions.condition import Condition
from condpdiff.generator import training
from condpdiff.generator.modelio import save_model
from condpdiff.generator.pdiff import autoencoder, noise, sample_candidates, train_diffusion
from condpdiff.generator.pdiff.autoencoder import AutoencoderConfig, ParamAutoencoder
from condpdiff.generator.pdiff.denoiser import ConvProjector, DenoiserConfig, UNet1D
from condpdiff.generator.pdiff.noise import load_diffusion
from condpdiff.generator.pdiff.sample_candidates import (
    SamplingConfig,
    candidate_conditions,
    generate,
    image_indices,
)
from condpdiff.generator.pdiff.train_diffusion import (
    DiffusionTrainConfig,
    StyleMaps,
    resolve_cond_mode,
)
from condpdiff.params.norm_stats import compute
from condpdiff.params.paramfile import ParamSet

MAP = (16, 4, 4)  # [C, h, w] of the tiny feature maps
CONV = DenoiserConfig(channels=(8, 16), emb_dim=16, bottom_hidden=16, cond_mode="conv")
STYLES = ["stl-a", "stl-b"]
COUNTS = [2, 5]  # the styles hold different numbers of images
K = 320
LAYOUT = [
    (f"m.layer.{i}.q.lora_{ab}.weight", shape)
    for i in range(2)
    for ab, shape in (("A", (2, 40)), ("B", (40, 2)))
]
AE_NET = AutoencoderConfig(channels=(8, 16), kernel=5, stride=4, latent_channels=2, latent_length=8)
DIFF_FLAGS = [
    "--channels",
    "8",
    "16",
    "--emb-dim",
    "16",
    "--bottom-hidden",
    "16",
    "--threads",
    "1",
    "--device",
    "cpu",
]


def labelled_maps() -> list[torch.Tensor]:
    """One [n_s, *MAP] tensor per style; map j (counting over all styles) is filled with j + 1."""
    out, j = [], 0
    for n in COUNTS:
        out.append(
            torch.arange(j + 1, j + n + 1, dtype=torch.float32)
            .view(n, 1, 1, 1)
            .expand(n, *MAP)
            .clone()
        )
        j += n
    return out


def test_projector_is_the_papers():
    proj = ConvProjector(MAP[0], 32)
    convs = [m for m in proj.modules() if isinstance(m, torch.nn.Conv2d)]
    assert [(c.in_channels, c.out_channels, c.kernel_size, c.stride, c.padding) for c in convs] == [
        (16, 64, (3, 3), (1, 1), (1, 1)),
        (64, 128, (3, 3), (2, 2), (1, 1)),
    ]
    assert any(isinstance(m, torch.nn.AdaptiveAvgPool2d) for m in proj.modules())
    assert proj(torch.randn(5, *MAP)).shape == (5, 32)
    assert proj(torch.randn(2, 16, 9, 7)).shape == (2, 32)  # the pool takes any map size


def test_conv_denoiser_forward_and_shape_checks():
    torch.manual_seed(0)
    net = UNet1D(CONV, 2, 8, MAP)
    assert net.cond_dim == MAP and net.describe()["cond_dim"] == list(MAP)
    out = net(torch.randn(3, 2, 8), torch.tensor([1, 50, 900]), torch.randn(3, *MAP))
    assert out.shape == (3, 2, 8)
    with pytest.raises(
        ValueError,
        match=r"conv condition must be feature maps \[B, 16, 4, 4\], found shape \[3, 8, 4, 4\]",
    ):
        net(torch.randn(3, 2, 8), torch.tensor([1, 2, 3]), torch.randn(3, 8, 4, 4))
    with pytest.raises(
        ValueError, match=r"cond_mode 'conv' needs the feature map shape \(C, h, w\), got 16"
    ):
        UNet1D(CONV, 2, 8, 16)
    with pytest.raises(ValueError, match=r"cond_mode 'mlp' needs a condition vector size D >= 1"):
        UNet1D(DenoiserConfig(channels=(8, 16)), 2, 8, MAP)


def test_null_condition_replaces_the_maps():
    """Classifier-free guidance: with drop set, the output ignores the feature map."""
    torch.manual_seed(0)
    net = UNet1D(CONV, 2, 8, MAP).eval()
    torch.nn.init.normal_(net.out[-1].weight)
    torch.nn.init.normal_(net.null_cond)
    x, t = torch.randn(2, 2, 8), torch.tensor([10, 10])
    a, b = torch.randn(2, *MAP), torch.randn(2, *MAP)
    drop = torch.ones(2, dtype=torch.bool)
    with torch.no_grad():
        torch.testing.assert_close(net(x, t, a, drop), net(x, t, b, drop), rtol=0, atol=0)
        assert not torch.allclose(net(x, t, a), net(x, t, b))


def test_style_maps_bank_and_draws():
    maps = StyleMaps.build(labelled_maps(), torch.tensor([0, 1, 1]))
    assert maps.bank.shape == (7, *MAP) and maps.map_shape == MAP
    assert maps.offsets.tolist() == [0, 2] and maps.counts.tolist() == [2, 5]
    picks = maps.draw(torch.tensor([0, 1, 2] * 2000), torch.Generator().manual_seed(0)).view(
        2000, 3
    )
    assert set(picks[:, 0].tolist()) == {0, 1} and set(picks[:, 1:].flatten().tolist()) == {
        2,
        3,
        4,
        5,
        6,
    }
    share = torch.bincount(picks[:, 1:].flatten() - 2, minlength=5).float() / 4000
    assert (share - 0.2).abs().max() < 0.03  # uniform over the style's images
    with pytest.raises(ValueError, match="one shape"):
        StyleMaps.build([torch.zeros(2, *MAP), torch.zeros(2, 8, 4, 4)], torch.tensor([0, 1]))
    with pytest.raises(ValueError, match=r"row style indices must lie in 0\.\.1"):
        StyleMaps.build(labelled_maps(), torch.tensor([0, 2]))


def train_conv(n_per_style=(6, 4), steps=8, seed=0):
    torch.set_num_threads(1)
    g = torch.Generator().manual_seed(seed)
    row_style = torch.cat(
        [torch.full((n,), s, dtype=torch.long) for s, n in enumerate(n_per_style)]
    )
    latents = torch.randn(row_style.shape[0], 2, 8, generator=g) + row_style.view(-1, 1, 1).float()
    cfg = DiffusionTrainConfig(
        steps=steps, batch_size=4, lr=1e-3, device="cpu", seed=seed, cond_drop=0.2
    )
    return train_diffusion.train(latents, StyleMaps.build(labelled_maps(), row_style), CONV, cfg)


def test_rows_only_see_their_own_styles_maps(monkeypatch):
    """Every training row is paired with a map of its own style, redrawn at every batch."""
    batches, conds = [], []
    real_batch, real_loss = training.batch_indices, train_diffusion.training_loss

    def record_batch(*args, **kwargs):
        batches.append(real_batch(*args, **kwargs))
        return batches[-1]

    def record_loss(model, sched, u0, cond, gen, drop):
        conds.append(cond.detach().clone())
        return real_loss(model, sched, u0, cond, gen, drop)

    monkeypatch.setattr(training, "batch_indices", record_batch)
    monkeypatch.setattr(train_diffusion, "training_loss", record_loss)
    model, curve = train_conv(steps=40)
    assert len(curve) == 40 and len(batches) == len(conds) == 40
    row_style = torch.tensor([0] * 6 + [1] * 4)
    own = {0: {1, 2}, 1: {3, 4, 5, 6, 7}}  # map fill values (global image index + 1) of each style
    seen = {0: set(), 1: set()}
    for idx, cond in zip(batches, conds):
        assert cond.shape == (idx.shape[0], *MAP)
        for row, c in zip(idx.tolist(), cond):
            image = int(c[0, 0, 0])
            assert torch.all(c == image)
            assert image in own[int(row_style[row])], (
                f"row {row} (style {int(row_style[row])}) saw image {image}"
            )
            seen[int(row_style[row])].add(image)
    assert seen == own  # and all of its style's images, over the run
    assert model.net.cfg.cond_mode == "conv" and model.net.cond_dim == MAP


def test_conv_training_is_seeded():
    a, _ = train_conv()
    b, _ = train_conv()
    c, _ = train_conv(seed=1)
    sa, sb, sc = a.state_dict(), b.state_dict(), c.state_dict()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert not all(torch.equal(sa[k], sc[k]) for k in sa)


def test_conditions_must_fit_the_cond_mode():
    cfg = DiffusionTrainConfig(steps=1, device="cpu")
    with pytest.raises(ValueError, match="go with 'conv' only"):
        train_diffusion.train(torch.randn(4, 2, 8), torch.eye(2)[[0, 1, 0, 1]], CONV, cfg)
    with pytest.raises(ValueError, match="go with 'conv' only"):
        train_diffusion.train(
            torch.randn(4, 2, 8),
            StyleMaps.build(labelled_maps(), torch.tensor([0, 1, 0, 1])),
            DenoiserConfig(channels=(8, 16)),
            cfg,
        )
    conv = Condition("img", torch.zeros(2, *MAP), "s", "e", projection="conv")
    vec = Condition("onehot", torch.eye(2)[0], "s", "e")
    assert resolve_cond_mode("auto", [conv, conv], ["a", "b"]) == "conv"
    assert resolve_cond_mode("auto", [vec, vec], ["a", "b"]) == "mlp"
    with pytest.raises(ValueError, match=r"found vector conditions in \['b'\]"):
        resolve_cond_mode("conv", [conv, vec], ["a", "b"])
    with pytest.raises(ValueError, match=r"cond_mode 'mlp' needs condition vectors; .* in \['a'\]"):
        resolve_cond_mode("mlp", [conv, vec], ["a", "b"])


def test_sampling_cycles_through_the_images():
    maps = torch.cat(labelled_maps())[:3]
    rows = candidate_conditions(maps, 7, "conv")
    assert image_indices(7, 3) == [0, 1, 2, 0, 1, 2, 0]
    assert torch.equal(rows, maps[[0, 1, 2, 0, 1, 2, 0]])
    assert candidate_conditions(torch.eye(3)[1], 4, "mlp").shape == (4, 3)
    with pytest.raises(
        ValueError, match=r"expected a condition \[n_images, C, h, w\], found shape \[3\]"
    ):
        candidate_conditions(torch.eye(3)[1], 4, "conv")
    with pytest.raises(
        ValueError, match=r"expected a condition \[D\], found shape \[3, 16, 4, 4\]"
    ):
        candidate_conditions(maps, 4, "mlp")


def test_conv_model_saves_and_reloads(tmp_path):
    model, _ = train_conv()
    with torch.no_grad():  # a few steps leave the zero-initialised output layer near 0
        model.net.out[-1].weight.normal_(generator=torch.Generator().manual_seed(1))
    save_model(tmp_path / "diff", model, noise.KIND)
    config = json.loads((tmp_path / "diff" / "config.json").read_text())
    assert (
        config["denoiser"]["cond_dim"] == list(MAP)
        and config["denoiser"]["config"]["cond_mode"] == "conv"
    )
    again = load_diffusion(tmp_path / "diff")
    assert again.net.cond_dim == MAP
    torch.manual_seed(0)
    ae = ParamAutoencoder(AE_NET, K).eval()
    maps = torch.cat(labelled_maps())[2:]  # style b's five maps
    cfg = SamplingConfig(num_candidates=6, seed=2, device="cpu", threads=1)
    a, b = generate(model, ae, maps, "ddim5", cfg), generate(again, ae, maps, "ddim5", cfg)
    assert a.shape == (6, K) and torch.equal(a, b)
    # candidates 0 and 5 both see image 0: same condition, different noise;
    # a different image changes a candidate
    other = generate(model, ae, maps[[1, 2, 3, 4, 0]], "ddim5", cfg)
    assert not torch.allclose(a[0], other[0])


@pytest.fixture(scope="module")
def style_inputs(tmp_path_factory):
    """Two styles' harvests and stats, conv condition files with 2 and 5 maps,
    an untrained autoencoder."""
    root = tmp_path_factory.mktemp("conv_inputs")
    g = torch.Generator().manual_seed(0)
    harvests, sets, conds = [], {}, []
    for i, (style, maps) in enumerate(zip(STYLES, labelled_maps())):
        sets[style] = ParamSet(
            (1.0 if i else -1.0) + 0.1 * torch.randn(8, K, generator=g),
            LAYOUT,
            torch.arange(8),
            torch.rand(8, generator=g),
            {},
            {"backbone": "tiny", "rank": 2, "task": style},
        )
        harvests.append(str(root / f"{style}.harvest.safetensors"))
        sets[style].save(harvests[-1])
        conds.append(str(root / f"{style}.cond.safetensors"))
        Condition(
            "resnet18-image",
            maps,
            style,
            "resnet18:test:layer2",
            f"{maps.shape[0]} train images",
            "conv",
        ).save(conds[-1])
    stats = root / "stats.safetensors"
    compute(sets, "task", 8).save(stats)
    ae = root / "autoencoder"
    torch.manual_seed(0)
    save_model(ae, ParamAutoencoder(AE_NET, K).eval(), autoencoder.KIND)
    return {
        "root": root,
        "harvests": harvests,
        "stats": str(stats),
        "conditions": conds,
        "autoencoder": ae,
    }


def test_entry_points_with_conv_conditions(style_inputs, tmp_path):
    """train_diffusion picks cond_mode conv from the files;
    sample_candidates records image i mod n."""
    s = style_inputs
    diff = tmp_path / "diff"
    train_diffusion.main(
        [
            "--autoencoder",
            str(s["autoencoder"]),
            "--stats",
            s["stats"],
            "--harvests",
            *s["harvests"],
            "--tasks",
            *STYLES,
            "--conditions",
            *s["conditions"],
            "--out-dir",
            str(diff),
            "--steps",
            "5",
            "--batch-size",
            "4",
            *DIFF_FLAGS,
        ]
    )
    config = json.loads((diff / "config.json").read_text())
    assert config["denoiser"]["config"]["cond_mode"] == "conv" and config["denoiser"][
        "cond_dim"
    ] == list(MAP)
    assert config["extra"]["condition_images"] == dict(zip(STYLES, COUNTS))
    out = tmp_path / "cand.safetensors"
    sample_candidates.main(
        [
            "--diffusion",
            str(diff),
            "--autoencoder",
            str(s["autoencoder"]),
            "--stats",
            s["stats"],
            "--harvest",
            s["harvests"][1],
            "--condition",
            s["conditions"][1],
            "--task",
            STYLES[1],
            "--sampler",
            "ddim5",
            "--out",
            str(out),
            "--num-candidates",
            "7",
            "--device",
            "cpu",
            "--threads",
            "1",
        ]
    )
    pset = ParamSet.load(out)
    assert pset.n == 7 and pset.info["condition_images"] == [0, 1, 2, 3, 4, 0, 1]
    vec = tmp_path / "vec.safetensors"
    Condition("onehot", torch.eye(2)[1], STYLES[1], "onehot:2").save(vec)
    with pytest.raises(
        ValueError,
        match=r"vec\.safetensors: a condition with projection 'mlp' .*\(cond_mode 'conv'\)",
    ):
        sample_candidates.main(
            [
                "--diffusion",
                str(diff),
                "--autoencoder",
                str(s["autoencoder"]),
                "--stats",
                s["stats"],
                "--harvest",
                s["harvests"][1],
                "--condition",
                str(vec),
                "--task",
                STYLES[1],
                "--sampler",
                "ddim5",
                "--out",
                str(tmp_path / "x.safetensors"),
                "--device",
                "cpu",
            ]
        )
