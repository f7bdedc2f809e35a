"""Conditions: the vector a generator is conditioned on, its file format and its encoders."""
