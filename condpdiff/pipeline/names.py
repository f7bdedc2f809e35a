"""The names a config may use, written once: the schema's enums, the global wildcard
constraints and the entry points' choices are all built from these lists.

Entry points import this module for their choices, so it is part of their code hash: only the
names of settings a step takes belong here. The registries of workflow targets live apart
(tables: ``pipeline.tables``; figures: ``pipeline.figure_targets``), so adding a table marks no
result stale."""

GENERATOR_KINDS = (
    "pdiff",
    "direct",
)  # Cond P-Diff (generator/pdiff); data-conditioned direct mapping (generator/direct)
NORMS = ("task", "batch", "none")
CONDITIONS = (
    "clip-twoshot",
    "clip-desc",
    "sentence-twoshot",
    "sentence-desc",
    "onehot",
    "learnable",
)
IMAGE_CONDITIONS = (
    "resnet18-image",
)  # a frozen ResNet-18 over the style's train images + a trained projector
# Data conditions (generator kind "direct" only): a SET of per-example embeddings, k of which the
# generator pools per draw (text: the frozen sentence encoder over labelled training examples).
DATA_CONDITIONS = ("sentence-data",)
SELECTION_FROM = ("train", "heldout")
HEADS = ("last_checkpoint", "file")

# Conditions computed from the task's own content (text or images), so they exist for a task the
# generator never saw; 'onehot' and 'learnable' are indices into the training tasks.
CONTENT_CONDITIONS = (
    ("clip-twoshot", "clip-desc", "sentence-twoshot", "sentence-desc")
    + DATA_CONDITIONS
    + IMAGE_CONDITIONS
)

# Regular expressions of free-form path parts (anchored by Snakemake and by the schema's patterns).
SAMPLER_RE = r"(ddpm|ddim)[1-9]\d*"
# The direct generator's recipe: k pooled condition items per draw, flat or per-layer arrangement,
# per-layer loss weight exponent, e.g. k8-layer-w0.75 (config: the `sampler` of a generator of kind
# direct; path: the part recipe-{recipe}, see pipeline.paths).
DIRECT_RE = r"k[1-9]\d*-(flat|layer)-w\d+(\.\d+)?"
LAYERS_RE = r"all|\d+-\d+"
# The audit's arms (arXiv 2506.07998): draws of an existing generator beside its own candidates,
# path part ``-{control}`` after the sampler / recipe (pipeline.paths.DRAW_BY_KIND; "" = its own):
# noise = the nearest training checkpoint plus noise of the selected candidate's distance, null =
# sampled with a zero condition, shuffled = sampled with another task's condition.
CONTROLS = ("noise", "null", "shuffled")
CONTROL_RE = "(" + "|".join(f"-{c}" for c in CONTROLS) + ")?"
KEY_RE = r"[A-Za-z0-9_]+"


def alternatives(names) -> str:
    """``a|b|c``: a regular expression matching exactly one of `names` (none: matches nothing)."""
    return "|".join(names) if names else "(?!)"
