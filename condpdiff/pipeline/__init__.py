"""The workflow layer: everything the Snakefile imports. It imports no torch, peft or
transformers."""
