"""The parameter file format (harvested checkpoints = candidates) and normalisation statistics."""
