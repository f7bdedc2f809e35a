"""Interpolation between two styles' LoRAs scored by FID against both styles, and its figures."""
