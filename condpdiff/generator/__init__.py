"""Parameter generators. Shared pieces here (model folders, training utilities, candidate files);
one subpackage per generator kind (``pdiff``: autoencoder + conditional latent diffusion)."""
