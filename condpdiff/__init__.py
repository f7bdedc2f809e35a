"""condpdiff: conditional latent diffusion over LoRA weights (Cond P-Diff)."""

__version__ = "0.1.0"
