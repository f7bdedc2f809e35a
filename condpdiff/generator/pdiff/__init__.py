"""Cond P-Diff: a parameter autoencoder, a conditional latent diffusion model over its latents,
and candidate sampling. Network (autoencoder, denoiser), noise process (noise) and the training
entry points are separate modules."""
