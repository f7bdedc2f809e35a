"""Config lookups, wildcard constraints and the input/argument functions of the image rules
(image.smk). Imports only the torch-free workflow layer."""

import re

from condpdiff.pipeline import image_settings as imgset
from condpdiff.pipeline.image_paths import ImagePaths, eval_part
from condpdiff.pipeline.image_targets import image_selection
from condpdiff.pipeline.paths import selection_wildcards

IMG = config["image"]
STYLES = imgset.styles(config)
IP = ImagePaths(config["results_dir"])
EVAL_PARTS = [
    eval_part(config),
    eval_part(config, IMG["generation"]["noise_seed"]),
]
IMG_TAG = "{backbone}_r{rank}{ftseed}_{task}"


def etag(tag):
    """A log/benchmark tag under one evaluation setting."""
    return f"{{evalpart}}_{tag}"


EVAL_TAG = etag(IMG_TAG)


wildcard_constraints:
    evalpart="|".join(re.escape(e) for e in EVAL_PARTS),
    part="train|reference",
    every=r"\d+",


def job_threads(setting):
    """A job's cores: the step's own thread setting, or 2 when it is 0/unset (torch's default)."""
    return int(setting) if setting else 2


def eval_seed(wildcards):
    return int(wildcards.evalpart.rsplit("-seed", 1)[1])


def base_input(wildcards):
    """A tiny base is pretrained by a rule; a hub id or a local folder is not a workflow file."""
    if wildcards.backbone in imgset.tiny_bases(config):
        return IP.base("pretrained", backbone=wildcards.backbone)
    return []


def style_folder_input(wildcards):
    if wildcards.task in imgset.made_styles(config):
        return IP.style_folder(task=wildcards.task)
    return []


def image_args(wildcards):
    """Base, prompt cache and LoRA shape of an image job on one style."""
    rank = wildcards.get("rank")
    lora = f" --rank {rank} --alpha {imgset.lora_alpha(config, rank)}" if rank else ""
    return (
        f"--base {shlex.quote(imgset.base_model(config, wildcards.backbone))}"
        f" --prompts {shlex.quote(IP.prompts(backbone=wildcards.backbone))}"
        f" --split {shlex.quote(IP.split(task=wildcards.task))}{lora}"
    )


def generate_inputs(**extra):
    return dict(
        base=base_input,
        prompts=IP.prompts(),
        split=IP.split(),
        **extra,
    )


def table2_cells(wildcards):
    """Table 2's four cells (generated, original, soup, no-LoRA) of a style, at Table 2's seed."""
    return figure_cells(wildcards, evalpart=EVAL_PARTS[0])


def figure_cells(wildcards, evalpart=None):
    w = dict(wildcards.items())
    if evalpart is not None:
        w["evalpart"] = evalpart
    sel = image_selection_wildcards(int(w["evalpart"].rsplit("-seed", 1)[1]))
    return [
        IP.scores.generated(**w, **sel),
        IP.scores.baseline("original", **w),
        IP.scores.baseline("soup", **w),
        IP.nolora(
            "nolora", evalpart=w["evalpart"], backbone=w["backbone"], task=w["task"]
        ),
    ]


def image_selection_wildcards(seed):
    return selection_wildcards(image_selection(config, seed))


def generate_params(rows):
    """Params of a generate_* rule: base/prompts/split/LoRA, generation + FID settings, and
    `rows(wildcards, input)`: which rows of which parameter file (or --nolora)."""
    return dict(
        args=image_args,
        gen=lambda w: imgset.generation_args(config, eval_seed(w)),
        rows=rows,
    )


IMAGE_GPU_RESOURCES = dict(gpu=GPU, runtime=RUNTIME["score_runtime"], mem_mb=16000)
