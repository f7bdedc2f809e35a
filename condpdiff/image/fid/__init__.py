"""FID by torch-fidelity: extractors, cached features, score caches and the style screen."""
