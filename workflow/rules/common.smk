"""Config validation, global wildcard constraints and the input/argument functions every rule
file shares. Imports only the torch-free workflow layer (condpdiff.pipeline) and the task table.
"""

import json
import os
import shlex

from snakemake.utils import validate

import condpdiff
from condpdiff.pipeline import generate_for, names, settings, tables, targets
from condpdiff.pipeline.codehash import code_hash
from condpdiff.pipeline.config import check_schema, check_semantics, load_schema
from condpdiff.pipeline.figure_targets import FIGURE_TARGETS
from condpdiff.pipeline.paths import (
    DRAW_RE,
    SEED_RE,
    TAG_CROSS,
    TAG_DIFF,
    TAG_DIRECT,
    TAG_DRAW,
    TAG_GEN,
    TAG_N,
    TAG_RECON,
    TAG_SEL,
    TAG_TASK,
    Paths,
    fill,
    unseen_task,
)
from condpdiff.pipeline.recovery import CONFIG_ENV
from condpdiff.text.tasks import get_task

# Our schema check first (its errors name the key, e.g. "config key 'finetune.epoch': unknown
# key"), then Snakemake's validate(), which fills in the schema's defaults, then the checks a
# schema cannot make (unknown tasks, missing local folders).
check_schema(config, load_schema(workflow.source_path("../schemas/config.schema.yaml")))
validate(config, "../schemas/config.schema.yaml")
check_semantics(config, get_task)

P = Paths(config["results_dir"])
TASKS = list(config.get("tasks") or [])
# The command an artifact error prints to rebuild a file (pipeline.recovery.rebuild_hint) names
# this run's config files, so it can be pasted as it is (jobs inherit the environment).
os.environ[CONFIG_ENV] = settings.words(
    os.path.relpath(f) if os.path.abspath(f).startswith(os.getcwd() + os.sep) else f
    for f in workflow.configfiles
)
IMAGE_BASES = list(config["image"]["bases"]) if config.get("image") else []
GPU = 1 if config["use_gpu"] else 0
RUNTIME = config["resources"]
TABLE_FORMATS = targets.TABLE_FORMATS


wildcard_constraints:
    backbone=names.KEY_RE,
    entry=names.alternatives(generate_for.entry_names(config)),
    task=names.KEY_RE,
    source=names.KEY_RE,
    synthetic=names.KEY_RE,
    rank=r"\d+",
    ftseed=SEED_RE["ft"],
    genseed=SEED_RE["gen"],
    n=r"\d+",
    layers=names.LAYERS_RE,
    norm=names.alternatives(names.NORMS),
    unseen=r"(-without-[A-Za-z0-9_]+)?",
    kind=names.alternatives(names.GENERATOR_KINDS),
    condition=names.alternatives(
        names.CONDITIONS + names.DATA_CONDITIONS + names.IMAGE_CONDITIONS
    ),
    sampler=names.SAMPLER_RE,
    recipe=names.DIRECT_RE,
    control=names.CONTROL_RE,
    draw=DRAW_RE,
    sel_n=r"\d+",
    sel_seed=r"\d+",
    sel_pool="(-heldout)?",
    sel_race=r"(-race[1-9]\d*)?",
    table=names.alternatives(tables.TABLES),


def code(module):
    """Package version + hash of the step's code (condpdiff.<module> and what it imports):
    in a rule's params, so a code change marks exactly the results that code made stale.
    """
    return f"{condpdiff.__version__}+{code_hash(module)}"


def task_data_files(wildcards):
    """The tsv files a task reads (none for hub data, which datasets fetches itself)."""
    if config["data"]["source"] == "hub":
        return []
    task = get_task(wildcards.task, config)
    folder = f"{settings.glue_dir(config)}/{task.glue_dir or task.name}"
    return [f"{folder}/train.tsv", f"{folder}/dev.tsv"]


def backbone_input(wildcards):
    """A tiny random backbone is built by a rule; a real one is not a workflow file."""
    if "tiny_random" in config["backbones"][wildcards.backbone]:
        return P.tiny_backbone(backbone=wildcards.backbone)
    return []


def task_harvest(wildcards):
    return P.harvest(
        backbone=wildcards.backbone,
        rank=wildcards.rank,
        ftseed=wildcards.ftseed,
        task=wildcards.task,
    )


def all_members(wildcards):
    """The tasks of a backbone: the styles for an image base, else the text tasks."""
    if wildcards.backbone in IMAGE_BASES:
        return list(config["image"]["styles"])
    return TASKS


def unseen(wildcards):
    """The task a leave-one-out generator is trained without ({unseen} = -without-<task>), or None."""
    left_out = unseen_task(wildcards.get("unseen", ""))
    if left_out is not None and left_out not in all_members(wildcards):
        raise ValueError(
            f"generator path part '-without-{left_out}': {left_out!r} is not among the tasks/styles"
            f" of backbone {wildcards.backbone!r} ({all_members(wildcards)})"
        )
    return left_out


def members(wildcards):
    """What a generator is trained on: the backbone's tasks or styles, less a left-out one."""
    left_out = unseen(wildcards)
    return [t for t in all_members(wildcards) if t != left_out]


def all_harvests(wildcards):
    return [
        P.harvest(
            backbone=wildcards.backbone,
            rank=wildcards.rank,
            ftseed=wildcards.ftseed,
            task=t,
        )
        for t in members(wildcards)
    ]


def seeded(flags, kind):
    """Params function: `flags` (a step's config flags) plus the job's seed taken from its path,
    ``--finetune-seed N`` ({ftseed}, `kind` "ft") or ``--generator-seed N`` ({genseed}, "gen"):
    the step trains / samples with its configured seed + N (settings.seed_flag)."""
    return lambda wildcards: f"{flags} {settings.seed_flag(kind, wildcards)}"


def direct_sampling_flags():
    """The `sampling` settings the direct generator uses (no sampler steps, guidance or eta)."""
    keep = ("num_candidates", "seed", "device", "threads")
    return settings.flags({k: v for k, v in config["sampling"].items() if k in keep})


def text_args(wildcards):
    """Model, task file, data and LoRA shape of a text job (every text entry point takes them)."""
    return settings.backbone_task_args(
        config, wildcards.backbone, wildcards.rank, wildcards.task
    )


# --- scoring (text.smk): every row of a parameter file on the selection split and/or dev ---

SCORE = (
    "python -m condpdiff.text.score {params.args} --params {input.params:q}"
    " --harvest {input.harvest:q} --out {output.scores:q} > {log:q} 2>&1"
)


def score_inputs(params, **extra):
    """Inputs of a scoring job: the parameter file `params` plus what every scoring job reads."""
    return dict(
        params=params,
        harvest=task_harvest,
        task=P.task(),
        data=task_data_files,
        backbone=backbone_input,
        **extra,
    )


def score_args(splits, head=None, extra=""):
    """The arguments of condpdiff.text.score: backbone/task/LoRA, scoring settings, head and
    `extra`, formatted with the job's wildcards, ``input`` (each path shell-quoted), ``pool``
    (the selection pool) and ``race`` (the first slice of a successive-halving selection, 0 for
    none).
    """
    flags = settings.scoring_flags(config, splits)
    head = head or config["scoring"]["head"]

    def args(wildcards, input):
        w = dict(wildcards.items())
        pool = "heldout" if w.get("sel_pool") else "train"
        race = int(w["sel_race"][len("-race") :]) if w.get("sel_race") else 0
        more = extra.format(
            **w, input=settings.quoted_files(input), pool=pool, race=race
        )
        return f"{text_args(wildcards)} {flags} --head {head} {more}"

    return args


SCORE_RESOURCES = dict(gpu=GPU, runtime=RUNTIME["score_runtime"], mem_mb=8000)
