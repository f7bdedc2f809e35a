"""The PixArt-alpha base: components, a tiny offline base, its pretraining, the prompt cache."""
