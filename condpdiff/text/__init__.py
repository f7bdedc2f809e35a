"""The text domain: GLUE tasks and data, BERT-family backbones with peft LoRA, fine-tuning with
harvesting, scoring on GLUE splits, adapter export, and offline smoke material."""
