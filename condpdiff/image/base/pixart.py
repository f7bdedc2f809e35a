"""PixArt-alpha through diffusers: components, a tiny offline pipeline, peft LoRA and its layout.

- ``load_components(model)``: transformer / vae / text_encoder / tokenizer / scheduler from a
  hub id or a local folder laid out like the hub's diffusers repos (one subfolder each);
- ``build_tiny_pipeline(cfg, seed)``: the same five components, tiny and random, from configs
  alone (no files, no network; the tokenizer is a small T5 unigram vocabulary), for tests and
  the CPU calibration; ``save_pretrained`` writes a folder ``load_components`` reads back;
- ``add_lora``: peft LoRA on ``to_q, to_k, to_v, to_out.0`` of every attention, self and cross
  (``PixArtTransformer2DModel`` has no ``add_adapter``, so ``inject_adapter_in_model``);
- ``lora_layout`` / ``lora_state_dict`` / ``load_lora_state``: the LoRA tensors in MODEL order
  (block 0, 1, 2, ..., 10, ...; not name-sorted as in the public code), named as
  ``peft.get_peft_model_state_dict`` names them, so ``params.paramfile`` flattens them.

PixArt-XL-2 at 256 px with r=1 gives K = 28 blocks x 8 linears x (1152 + 1152) = 516,096.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass

import torch

from condpdiff.params.paramfile import Layout

SUBFOLDERS = ("transformer", "vae", "text_encoder", "tokenizer", "scheduler")
LORA_TARGETS = ("to_q", "to_k", "to_v", "to_out.0")

# PixArt-XL-2 at 256 px (PixArt-alpha/PixArt-XL-2-256x256): the paper's base model.
PIXART_XL_2_256 = dict(
    num_attention_heads=16,
    attention_head_dim=72,
    in_channels=4,
    out_channels=8,
    num_layers=28,
    cross_attention_dim=1152,
    caption_channels=4096,
    sample_size=32,
    patch_size=2,
    norm_type="ada_norm_single",
    use_additional_conditions=False,
)


@dataclass(frozen=True)
class LoraSpec:
    """peft LoRA settings; the defaults are the public image code's (r=1,
    alpha 8, Gaussian init)."""

    rank: int = 1
    alpha: int = 8
    targets: tuple[str, ...] = LORA_TARGETS
    dropout: float = 0.0
    init: str = "gaussian"


@dataclass(frozen=True)
class TinyPixArtConfig:
    """A tiny random PixArt-alpha: images of ``sample_size * 2**(len(vae_channels)-1)`` px."""

    num_layers: int = 2
    num_heads: int = 2
    head_dim: int = 8
    sample_size: int = 8  # latent side
    patch_size: int = 2
    latent_channels: int = 4
    vae_channels: tuple[int, ...] = (16, 32)
    text_dim: int = 32  # T5 d_model = the transformer's caption_channels
    text_layers: int = 2
    text_heads: int = 4
    text_ff: int = 64
    max_length: int = 120  # the pipeline's default max_sequence_length

    def __post_init__(self) -> None:
        if self.sample_size % self.patch_size:
            raise ValueError(
                f"sample_size {self.sample_size} is not a multiple of patch_size {self.patch_size}"
            )
        groups = min(32, min(self.vae_channels))
        if any(c % groups for c in self.vae_channels):
            raise ValueError(
                f"vae_channels {self.vae_channels} must all be multiples of {groups} (group norm)"
            )
        if self.text_dim % self.text_heads:
            raise ValueError(
                f"text_dim {self.text_dim} is not a multiple of text_heads {self.text_heads}"
            )

    @property
    def image_size(self) -> int:
        return self.sample_size * 2 ** (len(self.vae_channels) - 1)

    @property
    def transformer_kwargs(self) -> dict:
        hidden = self.num_heads * self.head_dim
        return dict(
            num_attention_heads=self.num_heads,
            attention_head_dim=self.head_dim,
            in_channels=self.latent_channels,
            out_channels=2 * self.latent_channels,
            num_layers=self.num_layers,
            cross_attention_dim=hidden,  # must equal heads x head_dim
            caption_channels=self.text_dim,
            sample_size=self.sample_size,
            patch_size=self.patch_size,
            norm_type="ada_norm_single",
            use_additional_conditions=False,
            norm_num_groups=min(32, min(self.vae_channels)),
        )


def build_transformer(kwargs: dict, meta: bool = False):
    """A random ``PixArtTransformer2DModel``; ``meta=True`` allocates no weights (for counting)."""
    from diffusers import PixArtTransformer2DModel

    heads, dim, cross = (
        kwargs.get("num_attention_heads"),
        kwargs.get("attention_head_dim"),
        kwargs.get("cross_attention_dim"),
    )
    if heads * dim != cross:
        raise ValueError(
            f"cross_attention_dim must equal heads x head_dim = {heads * dim}, got {cross}"
        )
    if meta:
        with torch.device("meta"):
            return PixArtTransformer2DModel(**kwargs)
    return PixArtTransformer2DModel(**kwargs)


def tiny_tokenizer(max_length: int = 120):
    """A T5 unigram tokenizer over lower-case letters, digits and punctuation; built offline."""
    from transformers import T5Tokenizer

    vocab = [("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0)]
    vocab += [("\u2581" + c, -2.0) for c in string.ascii_lowercase + string.digits]
    vocab += [(c, -3.0) for c in string.ascii_lowercase + string.digits + string.punctuation]
    return T5Tokenizer(vocab=vocab, extra_ids=0, model_max_length=max_length)


def build_tiny_pipeline(cfg: TinyPixArtConfig = TinyPixArtConfig(), seed: int = 0):
    """A ``PixArtAlphaPipeline`` of tiny random components, built from configs alone."""
    from diffusers import AutoencoderKL, DPMSolverMultistepScheduler
    from transformers import T5Config, T5EncoderModel

    torch.manual_seed(seed)
    transformer = build_transformer(cfg.transformer_kwargs)
    n = len(cfg.vae_channels)
    vae = AutoencoderKL(
        in_channels=3,
        out_channels=3,
        latent_channels=cfg.latent_channels,
        block_out_channels=cfg.vae_channels,
        layers_per_block=1,
        down_block_types=("DownEncoderBlock2D",) * n,
        up_block_types=("UpDecoderBlock2D",) * n,
        norm_num_groups=min(32, min(cfg.vae_channels)),
        sample_size=cfg.image_size,
    )
    tokenizer = tiny_tokenizer(cfg.max_length)
    text_encoder = T5EncoderModel(
        T5Config(
            vocab_size=len(tokenizer),
            d_model=cfg.text_dim,
            d_kv=cfg.text_dim // cfg.text_heads,
            d_ff=cfg.text_ff,
            num_layers=cfg.text_layers,
            num_heads=cfg.text_heads,
            feed_forward_proj="gated-gelu",
            pad_token_id=tokenizer.pad_token_id,
            eos_token_id=tokenizer.eos_token_id,
        )
    )
    scheduler = DPMSolverMultistepScheduler()
    return make_pipeline(
        dict(
            transformer=transformer,
            vae=vae,
            text_encoder=text_encoder,
            tokenizer=tokenizer,
            scheduler=scheduler,
        )
    )


def load_components(
    model: str, dtype: torch.dtype = torch.float32, text_encoder: bool = True
) -> dict:
    """The five PixArt-alpha components of a hub id or local folder (one subfolder each).

    ``text_encoder=False`` skips the T5 encoder and its tokenizer (both ``None``; T5-XXL is 4.3B
    parameters): for jobs that read cached prompt embeddings (``image.base.prompts``) instead.
    """
    from pathlib import Path

    from diffusers import AutoencoderKL, DPMSolverMultistepScheduler, PixArtTransformer2DModel
    from transformers import AutoTokenizer, T5EncoderModel

    needed = SUBFOLDERS if text_encoder else ("transformer", "vae", "scheduler")
    if Path(model).exists():
        missing = [s for s in needed if not (Path(model) / s).is_dir()]
        if missing:
            raise ValueError(
                f"{model}: expected the subfolders {', '.join(needed)}; missing "
                f"{', '.join(missing)}"
            )
    return dict(
        transformer=PixArtTransformer2DModel.from_pretrained(
            model, subfolder="transformer", torch_dtype=dtype
        ),
        vae=AutoencoderKL.from_pretrained(model, subfolder="vae", torch_dtype=dtype),
        text_encoder=T5EncoderModel.from_pretrained(model, subfolder="text_encoder", dtype=dtype)
        if text_encoder
        else None,
        tokenizer=AutoTokenizer.from_pretrained(model, subfolder="tokenizer")
        if text_encoder
        else None,
        scheduler=DPMSolverMultistepScheduler.from_pretrained(model, subfolder="scheduler"),
    )


def make_pipeline(components: dict):
    """A ``PixArtAlphaPipeline`` over the given components (e.g. from ``load_components``)."""
    from diffusers import PixArtAlphaPipeline

    missing = [s for s in SUBFOLDERS if s not in components]
    if missing:
        raise ValueError(f"PixArt components lack {', '.join(missing)}")
    return PixArtAlphaPipeline(**{k: components[k] for k in SUBFOLDERS})


def add_lora(transformer, spec: LoraSpec = LoraSpec()):
    """Inject peft LoRA into every attention's q, k, v, out; only the LoRA stays trainable."""
    from peft import LoraConfig, inject_adapter_in_model

    cfg = LoraConfig(
        r=spec.rank,
        lora_alpha=spec.alpha,
        lora_dropout=spec.dropout,
        target_modules=list(spec.targets),
        init_lora_weights=spec.init,
    )
    transformer = inject_adapter_in_model(cfg, transformer)
    for name, p in transformer.named_parameters():
        p.requires_grad_("lora_" in name)
    return transformer


_BLOCK_RE = re.compile(r"(?:^|\.)transformer_blocks\.(\d+)\.")


def _peft_name(param_name: str) -> str:
    return param_name.replace(".default.", ".")  # peft's state-dict keys drop the adapter name


def lora_layout(transformer) -> Layout:
    """(name, shape) of every LoRA tensor in model order: blocks numerically, A before B."""
    layout = [
        (_peft_name(n), tuple(p.shape)) for n, p in transformer.named_parameters() if ".lora_" in n
    ]
    if not layout:
        raise ValueError("the transformer holds no LoRA parameters: call add_lora first")
    blocks = [int(m.group(1)) if (m := _BLOCK_RE.search(n)) else -1 for n, _ in layout]
    if blocks != sorted(blocks):
        raise ValueError(f"LoRA parameters are not in block order: {blocks}")
    return layout


def lora_state_dict(transformer) -> dict[str, torch.Tensor]:
    """The LoRA tensors (peft's keys) ordered as ``lora_layout``."""
    from peft import get_peft_model_state_dict

    state = get_peft_model_state_dict(transformer)
    layout = lora_layout(transformer)
    if set(state) != {n for n, _ in layout}:
        raise ValueError(
            "peft state dict keys differ from the layout: "
            f"{sorted(set(state) ^ {n for n, _ in layout})[:4]}"
        )
    return {n: state[n] for n, _ in layout}


def load_lora_state(transformer, state: dict[str, torch.Tensor]) -> None:
    """Set the LoRA tensors from ``state`` (e.g. ``paramfile.unflatten`` of a row);
    all keys must match."""
    from peft import set_peft_model_state_dict

    expected = {n for n, _ in lora_layout(transformer)}
    if set(state) != expected:
        raise ValueError(
            f"LoRA state does not match the model: missing {sorted(expected - set(state))[:3]}, "
            f"unexpected {sorted(set(state) - expected)[:3]}"
        )
    result = set_peft_model_state_dict(transformer, state)
    if getattr(result, "unexpected_keys", None):
        raise ValueError(f"peft did not load {result.unexpected_keys[:3]}")
