"""The names a config may use, written once: the schema's enums, the global wildcard
constraints and the entry points' choices are all built from these lists."""

GENERATOR_KINDS = ("pdiff",)
NORMS = ("task", "batch", "none")
CONDITIONS = ("clip-twoshot", "clip-desc", "sentence-twoshot", "sentence-desc", "onehot", "learnable")
SELECTION_FROM = ("train", "heldout")
HEADS = ("last_checkpoint", "file")

# Tables the workflow can build: name -> the generator field an ablation table varies (None: not an ablation).
TABLES = {
    "table1": None,
    "table3": "n",
    "table4a": "norm",
    "table4b": "condition",
    "table4c": "layers",
    "table_sampler": "sampler",
    "table_recon": None,
    "table_cross": None,
}

# Regular expressions of free-form path parts (anchored by Snakemake and by the schema's patterns).
SAMPLER_RE = r"(ddpm|ddim)[1-9]\d*"
LAYERS_RE = r"all|\d+-\d+"
KEY_RE = r"[A-Za-z0-9_]+"


def alternatives(names) -> str:
    """``a|b|c``: a regular expression matching exactly one of `names`."""
    return "|".join(names)
