"""Shared pieces of the image trainings (``pretrain_base``, ``finetune_style_lora``).

- ``load_rgb`` / ``square_views``: images as [3, R, R] tensors in [-1, 1], resized so the short
  side is R, then cropped (the diffusers training scripts' Resize + Crop + Flip);
- ``LatentBank``: every training view encoded ONCE by the frozen VAE; the Gaussian posterior
  (mean, std) is kept and each step draws ``mean + std * eps``, i.e. ``latent_dist.sample()``
  as diffusers' scripts do, times ``vae.config.scaling_factor``; flips are encoded views too
  (exact, unlike flipping a latent);
- ``diffusion_loss``: PixArt-alpha's epsilon-prediction DDPM loss; the transformer predicts
  2 x latent channels (learned sigma) and, as in diffusers' PixArt scripts, the first half is
  the epsilon prediction;
- ``load_denoiser``: transformer + VAE + DDPM scheduler of a base, WITHOUT the T5 encoder
  (4.3B parameters for PixArt-alpha: fine-tuning reads the prompt cache instead).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

CAPTIONS = "captions.json"  # the training-folder convention: file name -> caption
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp")
NO_EXTRA = {"resolution": None, "aspect_ratio": None}


def load_rgb(path: str | Path, resolution: int) -> torch.Tensor:
    """[3, H, W] float in [-1, 1], resized (bicubic) so the short side is `resolution`."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            im = im.convert("RGB")
            w, h = im.size
            s = resolution / min(w, h)
            size = (max(resolution, round(w * s)), max(resolution, round(h * s)))
            if size != (w, h):
                im = im.resize(size, Image.BICUBIC)
            data = torch.frombuffer(bytearray(im.tobytes()), dtype=torch.uint8).reshape(
                size[1], size[0], 3
            )
    except (UnidentifiedImageError, OSError, ValueError) as e:
        raise ValueError(f"{path}: not a readable image ({type(e).__name__}: {e})") from None
    return data.permute(2, 0, 1).float() / 127.5 - 1.0


def square_views(
    img: torch.Tensor, resolution: int, n: int, gen: torch.Generator | None
) -> list[torch.Tensor]:
    """`n` crops of side `resolution` (the first centred, the rest random);
    one if the image is square."""
    _, h, w = img.shape
    if (h, w) == (resolution, resolution):
        return [img]
    views = [
        img[:, (h - resolution) // 2 :][:, :resolution, (w - resolution) // 2 :][:, :, :resolution]
    ]
    for _ in range(n - 1):
        y = int(torch.randint(0, h - resolution + 1, (1,), generator=gen))
        x = int(torch.randint(0, w - resolution + 1, (1,), generator=gen))
        views.append(img[:, y : y + resolution, x : x + resolution])
    return views


def read_captions(folder: str | Path) -> list[tuple[Path, str]]:
    """(image path, caption) of a training folder: its images and ``captions.json``
    (file name -> caption)."""
    folder = Path(folder)
    file = folder / CAPTIONS
    if not file.is_file():
        raise FileNotFoundError(
            f"{folder}: expected a folder of images with {CAPTIONS} (file name -> caption); "
            f"found no {CAPTIONS}"
        )
    try:
        captions = json.loads(file.read_text())
    except ValueError as e:
        raise ValueError(
            f"{file}: not readable JSON ({e}); expected {{file name: caption}}"
        ) from None
    images = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    missing = [p.name for p in images if p.name not in captions]
    if not images or missing:
        raise ValueError(
            f"{file}: expected a caption for every image of {folder}; "
            f"found {len(images)} images, {len(missing)} without caption, e.g. {missing[:3]}"
        )
    return [(p, str(captions[p.name])) for p in images]


def base_resolution(transformer, vae) -> int:
    """The base's image side: the transformer's latent side x the VAE's downsampling factor."""
    return int(transformer.config.sample_size) * 2 ** (len(vae.config.block_out_channels) - 1)


def load_denoiser(model: str, dtype: torch.dtype = torch.float32) -> dict:
    """transformer, vae and a DDPMScheduler (from the base's scheduler config) of a hub id or
    folder; no T5."""
    from diffusers import AutoencoderKL, DDPMScheduler, PixArtTransformer2DModel

    if Path(model).exists():
        missing = [s for s in ("transformer", "vae", "scheduler") if not (Path(model) / s).is_dir()]
        if missing:
            raise ValueError(
                f"{model}: expected the subfolders transformer, vae, scheduler; "
                f"missing {', '.join(missing)}"
            )
    return dict(
        transformer=PixArtTransformer2DModel.from_pretrained(
            model, subfolder="transformer", torch_dtype=dtype
        ),
        vae=AutoencoderKL.from_pretrained(model, subfolder="vae", torch_dtype=dtype),
        scheduler=DDPMScheduler.from_config(
            DDPMScheduler.load_config(model, subfolder="scheduler")
        ),
    )


@dataclass
class LatentBank:
    """Posterior mean/std [M, C, h, w] of every encoded view and the prompt row of each."""

    mean: torch.Tensor
    std: torch.Tensor
    prompt: torch.Tensor  # [M] long: row in the caller's embedding table
    scaling: float

    def __len__(self) -> int:
        return self.mean.shape[0]

    def sample(self, idx: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        eps = torch.randn(self.mean[idx].shape, generator=gen).to(self.mean.device)
        return (self.mean[idx] + self.std[idx] * eps) * self.scaling


@torch.no_grad()
def encode_views(
    vae,
    images: list[torch.Tensor],
    prompt_rows: list[int],
    flips: bool = True,
    batch_size: int = 64,
) -> LatentBank:
    """Encode [3, R, R] images (and their mirror images when `flips`) once with the frozen VAE."""
    device = next(vae.parameters()).device
    x = torch.stack(images)
    rows = torch.tensor(prompt_rows, dtype=torch.long)
    if flips:
        x, rows = torch.cat([x, x.flip(-1)]), torch.cat([rows, rows])
    means, stds = [], []
    for start in range(0, len(x), batch_size):
        dist = vae.encode(
            x[start : start + batch_size].to(device, next(vae.parameters()).dtype)
        ).latent_dist
        means.append(dist.mean.float())
        stds.append(dist.std.float())
    return LatentBank(
        torch.cat(means), torch.cat(stds), rows.to(device), float(vae.config.scaling_factor)
    )


def diffusion_loss(
    transformer,
    scheduler,
    latents: torch.Tensor,
    embeds: torch.Tensor,
    mask: torch.Tensor,
    gen: torch.Generator,
) -> torch.Tensor:
    """Epsilon-prediction MSE at uniform random timesteps (noise drawn on the CPU from `gen`)."""
    b = latents.shape[0]
    noise = torch.randn(latents.shape, generator=gen).to(latents.device)
    t = torch.randint(0, scheduler.config.num_train_timesteps, (b,), generator=gen).to(
        latents.device
    )
    noisy = scheduler.add_noise(latents, noise, t)
    pred = transformer(
        noisy,
        encoder_hidden_states=embeds,
        encoder_attention_mask=mask,
        timestep=t,
        added_cond_kwargs=NO_EXTRA,
    ).sample
    if pred.shape[1] == 2 * latents.shape[1]:
        pred = pred.chunk(2, dim=1)[0]  # learned sigma: the first half is epsilon
    return F.mse_loss(pred.float(), noise.float())


def trim_tokens(embeds: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Drop padding columns no row uses: masked tokens get zero attention weight,
    so only rounding changes."""
    used = int(mask.sum(1).max()) if mask.numel() else 0
    return embeds[:, : max(used, 1)], mask[:, : max(used, 1)]
