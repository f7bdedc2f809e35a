"""Backbones: load a pretrained encoder (hub id or local folder) and wrap it with peft LoRA.

The LoRA weights live in a *parameter layout* (see ``paramfile``); the task head
(``classifier``, saved by peft as ``modules_to_save``) is kept apart from it, because the
generator produces LoRA weights only and the head comes from a real checkpoint.
"""

from __future__ import annotations

import torch
from peft import LoraConfig, get_peft_model, get_peft_model_state_dict, set_peft_model_state_dict


def load_tokenizer(model: str):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(model)


def load_base_model(model: str, num_labels: int, seed: int = 42):
    """The frozen encoder with a fresh task head (seeded, so every run's head starts the same)."""
    from transformers import AutoModelForSequenceClassification

    torch.manual_seed(seed)
    kwargs = {"num_labels": num_labels}
    if num_labels == 1:
        kwargs["problem_type"] = "regression"
    return AutoModelForSequenceClassification.from_pretrained(model, **kwargs)


def wrap_lora(base, rank: int, alpha: int, target_modules, dropout: float = 0.1):
    """peft LoRA on the given attention matrices; the classifier head is trained alongside."""
    cfg = LoraConfig(
        task_type="SEQ_CLS",
        r=rank,
        lora_alpha=alpha,
        lora_dropout=dropout,
        target_modules=list(target_modules),
    )
    return get_peft_model(base, cfg)


def split_state_dict(peft_model) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """(LoRA tensors, head tensors) of a peft model, keyed as ``get_peft_model_state_dict`` keys
    them."""
    sd = get_peft_model_state_dict(peft_model)
    lora = {k: v for k, v in sd.items() if "lora_" in k}
    head = {k: v for k, v in sd.items() if "lora_" not in k}
    return lora, head


def load_weights(peft_model, lora: dict[str, torch.Tensor], head: dict[str, torch.Tensor]) -> None:
    """Load LoRA + head tensors into `peft_model` in place; any missing/unexpected LoRA key is an
    error."""
    result = set_peft_model_state_dict(peft_model, {**lora, **head})
    unexpected = [k for k in result.unexpected_keys if "lora_" in k or k in head]
    missing = [k for k in result.missing_keys if "lora_" in k]
    if unexpected or missing:
        raise KeyError(
            f"LoRA state dict does not fit the model: missing {missing[:3]}, unexpected "
            f"{unexpected[:3]}"
        )
