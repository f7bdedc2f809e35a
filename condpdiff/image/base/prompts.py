"""The prompt-embedding cache: every prompt of a base model encoded once by its T5 encoder.

PixArt-alpha's T5-XXL has 4.3B parameters, so the ``encode_prompts`` job is the only one that
loads it; fine-tuning and image generation read this file instead. A safetensors file:
``embeds`` float32 [P, L, D] and ``mask`` int64 [P, L] (L = the base's max sequence length,
120 for PixArt-alpha), metadata ``format`` and ``prompts`` (JSON list; row i is prompt i).
Row 0 is always the empty prompt "", the unconditional / negative prompt of guidance.

Encoding follows diffusers' ``PixArtAlphaPipeline.encode_prompt`` (padding to max length,
truncation, the attention mask passed to the encoder), without caption cleaning.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import torch

from condpdiff.pipeline.artifacts import artifact_error, check_finite, open_safetensors
from condpdiff.util.atomic import save_safetensors

FORMAT = "condpdiff-prompts/1"
EMPTY = ""


@dataclass
class PromptCache:
    prompts: list[str]
    embeds: torch.Tensor  # [P, L, D] float32
    mask: torch.Tensor  # [P, L] int64

    def __post_init__(self) -> None:
        if not self.prompts or self.prompts[0] != EMPTY:
            raise ValueError("a prompt cache's row 0 must be the empty prompt")
        if len(set(self.prompts)) != len(self.prompts):
            raise ValueError("a prompt cache lists a prompt twice")
        if self.embeds.shape[0] != len(self.prompts) or self.mask.shape != self.embeds.shape[:2]:
            raise ValueError(
                f"{len(self.prompts)} prompts but embeds {tuple(self.embeds.shape)}, "
                f"mask {tuple(self.mask.shape)}"
            )
        self._index = {p: i for i, p in enumerate(self.prompts)}

    def lookup(self, prompts: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
        """(embeds [B, L, D], mask [B, L]) of `prompts`;
        a prompt not in the cache is an error naming it."""
        missing = [p for p in prompts if p not in self._index]
        if missing:
            raise KeyError(f"prompts not in the prompt cache (rerun encode_prompts): {missing[:3]}")
        idx = torch.tensor([self._index[p] for p in prompts], dtype=torch.long)
        return self.embeds[idx], self.mask[idx]

    def unconditional(self, batch: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.embeds[:1].expand(batch, -1, -1), self.mask[:1].expand(batch, -1)

    def save(self, path: str | Path, info: dict | None = None) -> None:
        save_safetensors(
            path,
            {"embeds": self.embeds.float().contiguous(), "mask": self.mask.long().contiguous()},
            {
                "format": FORMAT,
                "prompts": json.dumps(self.prompts),
                "info": json.dumps(info or {}, sort_keys=True),
            },
        )

    @classmethod
    def load(cls, path: str | Path) -> PromptCache:
        with open_safetensors(path, "prompt cache", FORMAT, tensors=("embeds", "mask")) as (
            f,
            meta,
        ):
            embeds, mask = f.get_tensor("embeds"), f.get_tensor("mask")
            try:
                prompts = json.loads(meta["prompts"])
            except (KeyError, ValueError) as e:
                raise artifact_error(
                    path, "prompt cache without a readable prompt list", found=repr(e)
                ) from None
        check_finite(embeds, path, "embeds")
        try:
            return cls(prompts, embeds, mask)
        except ValueError as e:
            raise artifact_error(path, "inconsistent prompt cache", found=str(e)) from None


@torch.no_grad()
def encode(
    text_encoder, tokenizer, prompts: list[str], max_length: int, batch_size: int = 16
) -> PromptCache:
    """Encode ``[""] + prompts`` (duplicates dropped, order kept) with the base's T5 encoder."""
    ordered = [EMPTY] + [p for p in dict.fromkeys(prompts) if p != EMPTY]
    device = next(text_encoder.parameters()).device
    embeds, masks = [], []
    for start in range(0, len(ordered), batch_size):
        tok = tokenizer(
            ordered[start : start + batch_size],
            padding="max_length",
            max_length=max_length,
            truncation=True,
            add_special_tokens=True,
            return_tensors="pt",
        )
        mask = tok.attention_mask.to(device)
        out = text_encoder(tok.input_ids.to(device), attention_mask=mask)[0]
        embeds.append(out.float().cpu())
        masks.append(mask.long().cpu())
    return PromptCache(ordered, torch.cat(embeds), torch.cat(masks))
