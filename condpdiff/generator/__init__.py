"""Parameter generators: one subpackage per kind, beside the pieces every kind shares.

- ``pdiff``: Cond P-Diff, a parameter autoencoder and a conditional latent diffusion model over
  its latents (network, noise process and training entry points apart);
- ``direct``: a frozen encoder's embedding of a task's data (k examples or images per draw)
  mapped to its LoRA weights in one forward pass;
- shared: model folders a caller rebuilds its model from (``modelio``), the training loop's
  device, optimiser and bf16 window (``training``), and the candidate file every kind writes in
  the harvest's own format (``candidates``).

Nothing here imports ``text`` or ``image``: a domain reaches a generator only through condition
and parameter files.
"""
