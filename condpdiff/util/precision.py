"""Mixed precision: the autocast dtype a setting means on a device.

``auto``: bf16 on a GPU that supports it (else fp16), bf16 on a CPU with native bf16
instructions (AVX512-BF16 or AMX; elsewhere bf16 is emulated and slower, so fp32); ``no``:
exact fp32; ``bf16`` / ``fp16``: that dtype (fp16 on a GPU only).
"""

from __future__ import annotations

import torch

MODES = ("auto", "no", "fp16", "bf16")


def cpu_has_bf16() -> bool:
    """Whether this CPU runs bf16 natively (torch's own detection of AVX512-BF16 / AMX)."""
    checks = [
        getattr(torch.cpu, name, None)
        for name in ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    ]
    return any(check() for check in checks if check is not None)


def autocast_dtype(mode: str, device: torch.device):
    """The autocast dtype for `mode` on `device`, or None for fp32."""
    if mode not in MODES:
        raise ValueError(f"mixed_precision must be one of {MODES}, got {mode!r}")
    if mode == "no":
        return None
    if device.type == "cuda":
        if mode == "auto":
            return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return {"fp16": torch.float16, "bf16": torch.bfloat16}[mode]
    if mode == "fp16":
        raise ValueError("mixed_precision 'fp16' needs a GPU; use 'bf16' or 'auto' on a CPU")
    if mode == "bf16" or cpu_has_bf16():
        return torch.bfloat16
    return None
