"""The image condition's frozen ResNet-18 feature network, and feature-map (conv) condition files.

Random and locally saved weights only: no network.
"""

from __future__ import annotations

import pytest
import torch

from condpdiff.conditions.condition import FORMAT, Condition, load_condition
from condpdiff.conditions.image_encoder import (
    IMAGENET_MEAN,
    ImageEncoderConfig,
    ResNetFeatures,
    build_resnet18,
)
from condpdiff.util.atomic import save_safetensors

RANDOM = "random init (seed 0): no pretrained weights available"


def encoder(**kw) -> ResNetFeatures:
    torch.set_num_threads(1)
    return ResNetFeatures(ImageEncoderConfig(**{"weights": "random", "image_size": 32, **kw}))


def images(n=2, h=40, w=56, seed=0) -> torch.Tensor:
    return torch.rand(n, 3, h, w, generator=torch.Generator().manual_seed(seed))


def test_random_weights_give_layer2_maps_and_say_so():
    enc = encoder()
    out = enc(images())
    assert out.shape == (2, 128, 4, 4) and out.dtype == torch.float32 and torch.isfinite(out).all()
    assert enc.name == f"resnet18:{RANDOM}:layer2"
    assert not any(p.requires_grad for p in enc.parameters())  # frozen


def test_default_is_layer2_of_64px():
    cfg = ImageEncoderConfig()
    assert (cfg.layer, cfg.image_size, cfg.weights) == ("layer2", 64, "IMAGENET1K_V1")
    assert encoder(image_size=64)(images(1)).shape == (1, 128, 8, 8)


@pytest.mark.parametrize(
    "layer,shape", [("layer1", (64, 8, 8)), ("layer3", (256, 2, 2)), ("layer4", (512, 1, 1))]
)
def test_layer_setting(layer, shape):
    assert encoder(layer=layer)(images(1)).shape == (1, *shape)


def test_random_init_is_seeded():
    x = images(1)
    assert torch.equal(encoder()(x), encoder()(x))
    assert not torch.allclose(encoder()(x), encoder(seed=1)(x))
    assert RANDOM.replace("seed 0", "seed 1") in encoder(seed=1).name


def test_short_side_resized_then_centre_cropped():
    """Images of any size and aspect give maps of one shape; the short side is what is resized."""
    enc = encoder()
    tall, wide = torch.rand(3, 90, 33), torch.rand(3, 32, 77)
    out = enc([tall, wide])
    assert out.shape == (2, 128, 4, 4)
    pre = enc.preprocess(wide)
    assert pre.shape == (1, 3, 32, 32)
    # the crop is the centre: the wide image's middle 32 columns, already at the right size
    mid = (wide[:, :, 22:54] - torch.tensor(IMAGENET_MEAN).view(3, 1, 1)) / enc.std[0]
    torch.testing.assert_close(pre[0], mid)


def test_imagenet_normalisation():
    enc = encoder()
    grey = torch.tensor(IMAGENET_MEAN).view(3, 1, 1).expand(3, 32, 32)
    torch.testing.assert_close(enc.preprocess(grey), torch.zeros(1, 3, 32, 32), atol=1e-6, rtol=0)


@pytest.mark.parametrize("suffix", [".pth", ".safetensors"])
def test_local_weights_file(tmp_path, suffix):
    net, _ = build_resnet18("random", seed=3)
    path = tmp_path / f"resnet18{suffix}"
    if suffix == ".pth":
        torch.save(net.state_dict(), path)
    else:
        save_safetensors(path, net.state_dict())
    enc = encoder(weights=str(path))
    assert enc.name.startswith(f"resnet18:file resnet18{suffix} sha256 ") and enc.name.endswith(
        ":layer2"
    )
    x = images(1)
    assert torch.equal(enc(x), encoder(seed=3)(x))


def test_bad_weights_name_the_file(tmp_path):
    with pytest.raises(
        FileNotFoundError, match=r"nope\.pth: ResNet-18 weights file not found.*'random'"
    ):
        encoder(weights=str(tmp_path / "nope.pth"))
    (tmp_path / "junk.pth").write_bytes(b"not a pickle")
    with pytest.raises(ValueError, match=r"junk\.pth: unreadable ResNet-18 weights file"):
        encoder(weights=str(tmp_path / "junk.pth"))
    torch.save({"foo.weight": torch.zeros(2)}, tmp_path / "other.pth")
    with pytest.raises(
        ValueError, match=r"other\.pth: weights do not fit torchvision's resnet18.*foo\.weight"
    ):
        encoder(weights=str(tmp_path / "other.pth"))
    with pytest.raises(ValueError, match="layer1"):
        encoder(layer="layer5")


def test_offline_imagenet_weights_say_what_to_do(monkeypatch):
    from torchvision.models import ResNet18_Weights

    def no_network(self, *args, **kwargs):
        raise OSError("network is unreachable")

    monkeypatch.setattr(ResNet18_Weights, "get_state_dict", no_network)
    with pytest.raises(
        RuntimeError, match=r"IMAGENET1K_V1.*network is unreachable.*local weights file.*'random'"
    ):
        encoder(weights="IMAGENET1K_V1")


def test_bad_image_shapes():
    with pytest.raises(ValueError, match=r"\[N, 3, H, W\]"):
        encoder()(torch.rand(2, 1, 32, 32))
    with pytest.raises(ValueError, match="no images"):
        encoder()([])


# --- condition files holding feature maps ---


def test_conv_condition_round_trip(tmp_path):
    maps = torch.randn(3, 128, 4, 4)
    Condition(
        "resnet18-image", maps, "stl-01", f"resnet18:{RANDOM}:layer2", "3 train images", "conv"
    ).save(tmp_path / "c.safetensors")
    cond = load_condition(tmp_path / "c.safetensors")
    assert (
        torch.equal(cond.embedding, maps) and cond.projection == "conv" and RANDOM in cond.encoder
    )


def test_vector_conditions_stay_vectors(tmp_path):
    Condition("onehot", torch.eye(3)[1], "t", "onehot:3").save(tmp_path / "v.safetensors")
    assert load_condition(tmp_path / "v.safetensors").embedding.shape == (3,)
    with pytest.raises(
        ValueError, match=r"expected feature maps \[n_images, C, h, w\] for projection 'conv'"
    ):
        Condition("x", torch.zeros(5), "t", "e", projection="conv").save(
            tmp_path / "bad.safetensors"
        )


@pytest.mark.parametrize(
    "projection,shape,message",
    [
        (
            "mlp",
            (2, 4, 3, 3),
            r"wrong shape; expected a vector \[D\] for projection 'mlp'; found shape \[2, 4, 3, "
            r"3\]",
        ),
        ("table", (2, 4, 3, 3), r"expected a vector \[D\] for projection 'table'"),
        (
            "conv",
            (8,),
            r"expected feature maps \[n_images, C, h, w\] for projection 'conv'; found shape \[8\]",
        ),
        ("conv", (4, 3, 3), r"found shape \[4, 3, 3\]"),
        (
            "pool",
            (8,),
            r"unknown projection; expected a projection in \('mlp', 'table', 'conv', 'set'\); "
            r"found 'pool'",
        ),
        (
            "set",
            (8,),
            r"expected item embeddings \[n_items, D\] for projection 'set'; found shape \[8\]",
        ),
    ],
)
def test_load_condition_is_strict_about_shapes(tmp_path, projection, shape, message):
    path = tmp_path / "c.safetensors"
    save_safetensors(
        path,
        {"embedding": torch.zeros(shape)},
        {"format": FORMAT, "condition": "c", "task": "t", "encoder": "e", "projection": projection},
    )
    with pytest.raises(ValueError, match=r"c\.safetensors: .*" + message):
        load_condition(path)
