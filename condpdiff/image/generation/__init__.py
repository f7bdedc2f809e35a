"""Images from LoRA rows or the base alone, kept as FID features; Table 2's arms redrawn."""
