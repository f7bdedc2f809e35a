"""The names a config may use, written once: the schema's enums, the global wildcard
constraints and the entry points' choices are all built from these lists."""

GENERATOR_KINDS = ("pdiff", "direct")  # Cond P-Diff (generator/pdiff); data-conditioned direct mapping (generator/direct)
NORMS = ("task", "batch", "none")
CONDITIONS = ("clip-twoshot", "clip-desc", "sentence-twoshot", "sentence-desc", "onehot", "learnable")
IMAGE_CONDITIONS = ("resnet18-image",)  # a frozen ResNet-18 over the style's train images + a trained projector
# Data conditions (generator kind "direct" only): a SET of per-example embeddings, k of which the generator
# pools per draw (text: the frozen sentence encoder over labelled training examples).
DATA_CONDITIONS = ("sentence-data",)
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
    "table_unseen": None,  # leave-one-task-out: each task from a generator trained without it, next to seen / no-LoRA
    "table2": None,  # images: generated / original / soup / no-LoRA FID per style
    "table2_cross": None,  # images: each style's generated LoRA against every style's reference
    "table2_noise": None,  # images: table2's arms at a second generation seed (FID noise)
    "image_screen": None,  # images: each style's floor FID (train vs reference) and the base's FID to it
    "table2_unseen": None,  # images: leave-one-style-out, like table_unseen
    "table_direct": None,  # the direct generator's ablation: arrangement (flat / per-layer) x loss weight exponent
}
IMAGE_TABLES = ("table2", "table2_cross", "table2_noise", "image_screen", "table2_unseen")
# Conditions computed from the task's own content (text or images), so they exist for a task the
# generator never saw; 'onehot' and 'learnable' are indices into the training tasks.
CONTENT_CONDITIONS = ("clip-twoshot", "clip-desc", "sentence-twoshot", "sentence-desc") + DATA_CONDITIONS + IMAGE_CONDITIONS

# Regular expressions of free-form path parts (anchored by Snakemake and by the schema's patterns).
SAMPLER_RE = r"(ddpm|ddim)[1-9]\d*"
# The direct generator's recipe in the sampler's path slot: k pooled condition items per draw, flat or per-layer
# arrangement, per-layer loss weight exponent: the `sampler` of a generator of kind direct, e.g. k8-layer-w0.75.
DIRECT_RE = r"k[1-9]\d*-(flat|layer)-w\d+(\.\d+)?"
LAYERS_RE = r"all|\d+-\d+"
KEY_RE = r"[A-Za-z0-9_]+"


def alternatives(names) -> str:
    """``a|b|c``: a regular expression matching exactly one of `names` (none: matches nothing)."""
    return "|".join(names) if names else "(?!)"
