"""Style LoRA fine-tuning on PixArt-alpha: a style's train images -> harvested checkpoints."""
