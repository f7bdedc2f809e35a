"""The tables the workflow can build: a registry that grows with each new table.

Only the workflow layer imports it (config check, ``pipeline.targets``, the rule files), never an
entry point: a rule's code hash covers the modules its step imports, so adding a table here must
not mark a trained generator or a cached score stale (``tests/pipeline/test_codehash.py``).
"""

# Tables: name -> the generator field an ablation table varies (None: not an ablation).
TABLES = {
    "table1": None,
    "table3": "n",
    "table4a": "norm",
    "table4b": "condition",
    "table4c": "layers",
    "table_sampler": "sampler",
    "table_recon": None,
    "table_cross": None,
    # leave-one-task-out: each task from a generator trained without it, next to seen / no-LoRA
    "table_unseen": None,
    "table2": None,  # images: generated / original / soup / no-LoRA FID per style
    "table2_cross": None,  # images: each style's generated LoRA against every style's reference
    "table2_noise": None,  # images: table2's arms at a second generation seed (FID noise)
    # images: each style's floor FID (train vs reference) and the base's FID to it
    "image_screen": None,
    "table2_unseen": None,  # images: leave-one-style-out, like table_unseen
    # the direct generator's ablation: arrangement (flat / per-layer) x loss weight exponent
    "table_direct": None,
}
IMAGE_TABLES = ("table2", "table2_cross", "table2_noise", "image_screen", "table2_unseen")
