"""Config validation, path conventions and helpers shared by every rule file."""

import json
import shlex
from pathlib import Path

from snakemake.utils import validate

import condpdiff
from condpdiff.backbone import backbone_spec, lora_alpha
from condpdiff.codehash import code_hash
from condpdiff.config_check import check as check_config
from condpdiff.tasks import get_task

# Our check first (its errors name the key, e.g. "config key 'finetune.epoch': unknown key"),
# then Snakemake's own validation, which also fills in the schema's defaults.
check_config(config, workflow.source_path("../schemas/config.schema.yaml"))
validate(config, "../schemas/config.schema.yaml")

R = config["results_dir"]
TASKS = list(config["tasks"])
GPU = 1 if config.get("use_gpu", True) else 0
GEN = config["generator"]


wildcard_constraints:
    backbone="[A-Za-z0-9_]+",
    task="[A-Za-z0-9_]+",
    rank=r"\d+",
    n=r"\d+",
    layers=r"all|\d+-\d+",
    norm="task|batch|none",
    sel_n=r"\d+",
    sel_seed=r"\d+",
    sel_pool="(-heldout)?",


def code(module):
    """Package version + hash of the step's code: put in params so code changes mark results stale."""
    return f"{condpdiff.__version__}+{code_hash(module)}"


def task_names(wildcards=None):
    return TASKS


def glue_dir():
    if config["data"]["source"] == "synthetic":
        return f"{R}/data/glue"
    return config["data"].get("glue_dir", "")


def task_glue_folder(task):
    t = get_task(task, config)
    return t.glue_dir or t.name


def task_data_files(wildcards):
    """The tsv files a task reads (none for hub data, which datasets fetches itself)."""
    if config["data"]["source"] == "hub":
        return []
    folder = f"{glue_dir()}/{task_glue_folder(wildcards.task)}"
    return [f"{folder}/train.tsv", f"{folder}/dev.tsv"]


def backbone_model(wildcards):
    return backbone_spec(config, wildcards.backbone).model


def backbone_input(wildcards):
    """A tiny random backbone is built by a rule; a real one is not a workflow file."""
    if "tiny_random" in config["backbones"][wildcards.backbone]:
        return backbone_model(wildcards)
    return []


def target_modules(wildcards):
    return " ".join(
        shlex.quote(m)
        for m in config["backbones"][wildcards.backbone]["target_modules"]
    )


def flags(section):
    """A config section as --flags for a dataclass-configured entry point."""
    out = []
    for key, value in config.get(section, {}).items():
        flag = f"--{key.replace('_', '-')}"
        if isinstance(value, (list, tuple)):
            out.append(" ".join([flag, *(shlex.quote(str(v)) for v in value)]))
        else:
            out.append(f"{flag} {shlex.quote('none' if value is None else str(value))}")
    return " ".join(out)


def harvest_path(backbone, rank, task):
    return f"{R}/finetune/{backbone}/r{rank}/{task}/harvest.safetensors"


def finetune_summary_path(backbone, rank, task):
    return f"{R}/finetune/{backbone}/r{rank}/{task}/summary.json"


GEN_DIR = f"{R}/generator/{{backbone}}/r{{rank}}/n{{n}}/layers-{{layers}}/norm-{{norm}}"


def all_harvests(wildcards):
    return [harvest_path(wildcards.backbone, wildcards.rank, t) for t in TASKS]


def all_targets():
    """The tables named in config `targets` (CSV + Markdown each; rules in evaluate.smk)."""
    return [
        f"{R}/tables/{name}.{ext}"
        for name in config.get("targets", ["table1"])
        for ext in ("csv", "md")
    ]
