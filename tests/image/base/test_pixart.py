"""PixArt-alpha components, LoRA and its parameter layout
(tiny and meta-device models; no network)."""

from __future__ import annotations

import pytest
import torch

from condpdiff.image.base import pixart as px
from condpdiff.params.paramfile import ParamSet, flatten, layout_of, layout_size, unflatten

XL_TARGET_K = 28 * 8 * (1152 + 1152)  # 516,096: r=1 on q, k, v, out of both attentions


def _forward(transformer, cfg: px.TinyPixArtConfig, seed: int = 1) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(2, cfg.latent_channels, cfg.sample_size, cfg.sample_size, generator=g)
    text = torch.randn(2, 5, cfg.text_dim, generator=g)
    with torch.no_grad():
        return transformer(
            x,
            encoder_hidden_states=text,
            timestep=torch.tensor([10, 500]),
            added_cond_kwargs={"resolution": None, "aspect_ratio": None},
        ).sample


@pytest.fixture(scope="module")
def tiny_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("pixart") / "tiny"
    px.build_tiny_pipeline(px.TinyPixArtConfig(), seed=0).save_pretrained(folder)
    return folder


def test_pixart_xl_lora_size_on_meta():
    transformer = px.add_lora(
        px.build_transformer(px.PIXART_XL_2_256, meta=True), px.LoraSpec(rank=1)
    )
    layout = px.lora_layout(transformer)
    assert layout_size(layout) == XL_TARGET_K == 516_096
    assert len(layout) == 28 * 8 * 2
    assert {shape for _, shape in layout} == {(1, 1152), (1152, 1)}


def test_cross_attention_dim_checked():
    bad = dict(px.PIXART_XL_2_256, cross_attention_dim=1024)
    with pytest.raises(ValueError, match="heads x head_dim = 1152"):
        px.build_transformer(bad, meta=True)


def test_layout_is_numeric_block_order():
    cfg = px.TinyPixArtConfig(num_layers=12)
    transformer = px.add_lora(px.build_transformer(cfg.transformer_kwargs, meta=True))
    layout = px.lora_layout(transformer)
    blocks = [int(name.split(".")[1]) for name, _ in layout]
    assert blocks == sorted(blocks) and blocks[-1] == 11
    assert blocks.index(2) < blocks.index(10)  # not name-sorted (0, 1, 10, 11, 2, ...)
    first = [name.split(".", 2)[2] for name, _ in layout[:16]]
    assert first[:4] == [
        "attn1.to_q.lora_A.weight",
        "attn1.to_q.lora_B.weight",
        "attn1.to_k.lora_A.weight",
        "attn1.to_k.lora_B.weight",
    ]
    assert first[8].startswith("attn2.to_q")


def test_save_and_load_components(tiny_folder):
    comps = px.load_components(str(tiny_folder))
    fresh = px.build_tiny_pipeline(px.TinyPixArtConfig(), seed=0)
    cfg = px.TinyPixArtConfig()
    assert torch.equal(_forward(comps["transformer"], cfg), _forward(fresh.transformer, cfg))
    images = px.make_pipeline(comps)(
        "a painting",
        num_inference_steps=2,
        height=cfg.image_size,
        width=cfg.image_size,
        use_resolution_binning=False,
        clean_caption=False,
        output_type="np",
        generator=torch.Generator().manual_seed(0),
    ).images
    assert images.shape == (1, cfg.image_size, cfg.image_size, 3)


def test_load_components_names_missing_subfolders(tmp_path):
    (tmp_path / "transformer").mkdir()
    with pytest.raises(ValueError, match=r"missing vae, text_encoder, tokenizer, scheduler"):
        px.load_components(str(tmp_path))


def test_lora_harvest_round_trip(tiny_folder, tmp_path):
    cfg = px.TinyPixArtConfig()
    transformer = px.add_lora(
        px.load_components(str(tiny_folder))["transformer"], px.LoraSpec(rank=2)
    )
    assert all(p.requires_grad == (".lora_" in n) for n, p in transformer.named_parameters())
    torch.manual_seed(3)
    with torch.no_grad():
        for name, p in transformer.named_parameters():
            if ".lora_B." in name:
                p.normal_(0, 0.5)  # peft starts B at zero: make the LoRA do something
    layout = px.lora_layout(transformer)
    state = px.lora_state_dict(transformer)
    assert layout_of(state) == layout
    reference = _forward(transformer, cfg)

    rows = torch.stack([flatten(state, layout), torch.zeros(layout_size(layout))])
    path = tmp_path / "params.safetensors"
    ParamSet(
        params=rows,
        layout=layout,
        steps=torch.tensor([5, 10]),
        loss=torch.zeros(2),
        info={"backbone": "tiny-pixart"},
    ).save(path)
    loaded = ParamSet.load(path)
    assert loaded.layout == layout

    px.load_lora_state(transformer, loaded.lora_state_dict(1))  # all zero: LoRA off
    assert not torch.allclose(_forward(transformer, cfg), reference)
    px.load_lora_state(transformer, unflatten(loaded.params[0], loaded.layout))
    assert torch.equal(_forward(transformer, cfg), reference)

    with pytest.raises(ValueError, match="missing"):
        px.load_lora_state(transformer, dict(list(state.items())[1:]))


def test_lora_layout_requires_lora():
    with pytest.raises(ValueError, match="add_lora"):
        px.lora_layout(px.build_transformer(px.TinyPixArtConfig().transformer_kwargs, meta=True))
