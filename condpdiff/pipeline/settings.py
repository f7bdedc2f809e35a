"""Command-line arguments of the entry points, built from a validated config (no torch).

The rules call these instead of spelling arguments out, so a setting reaches its step in one
way only: a config section becomes ``--flags`` of the step's dataclass config.
"""

from __future__ import annotations

import shlex
from types import SimpleNamespace

from condpdiff.pipeline.paths import SEED_WILDCARD, Paths, seed_of


def words(values) -> str:
    """`values` (one string or a list of them) as shell words, each quoted."""
    if isinstance(values, str):
        return shlex.quote(values)
    return " ".join(shlex.quote(str(v)) for v in values)


def quoted_files(files) -> SimpleNamespace:
    """A job's named ``input``/``output`` with every path shell-quoted (lists as quoted words),
    for command-line fragments formatted in Python, where Snakemake's ``{input.x:q}`` is not
    available: ``"--cell {input.cell}".format(input=quoted_files(input))``."""
    return SimpleNamespace(**{name: words(value) for name, value in files.items()})


def flags(section: dict) -> str:
    """A config section as ``--flags`` for a dataclass-configured entry point (None -> ``none``)."""
    out = []
    for key, value in section.items():
        flag = shlex.quote(f"--{key.replace('_', '-')}")
        if isinstance(value, (list, tuple)):
            out.append(" ".join([flag, *(shlex.quote(str(v)) for v in value)]))
        else:
            out.append(f"{flag} {shlex.quote('none' if value is None else str(value))}")
    return " ".join(out)


SEED_FLAGS = {"ft": "--finetune-seed", "gen": "--generator-seed"}


def seed_flag(kind: str, wildcards) -> str:
    """``--finetune-seed N`` (`kind` "ft") or ``--generator-seed N`` ("gen") of a job, N read
    from its path's {ftseed} / {genseed} part (`wildcards`: a job's wildcards or a dict)."""
    if kind not in SEED_FLAGS:
        raise ValueError(f"unknown seed kind {kind!r}: expected one of {list(SEED_FLAGS)}")
    part = dict(wildcards.items()).get(SEED_WILDCARD[kind], "")
    return f"{SEED_FLAGS[kind]} {seed_of(part)}"


def lora_alpha(config: dict, rank) -> int:
    """The LoRA alpha paired with `rank` (the paper's pairs: r1/a8, r2/a8, r4/a16, r16/a32)."""
    alphas = {int(k): int(v) for k, v in config["lora"]["alpha"].items()}
    if int(rank) not in alphas:
        raise KeyError(
            f"no LoRA alpha for rank {rank} in config 'lora.alpha' (have {sorted(alphas)})"
        )
    return alphas[int(rank)]


def backbone_model(config: dict, key: str) -> str:
    """Hub id or local folder of backbone `key`; a tiny random one is built under results_dir."""
    spec = config["backbones"][key]
    return spec.get("model") or Paths(config["results_dir"]).tiny_backbone(backbone=key)


def glue_dir(config: dict) -> str:
    """The folder in the classic GLUE layout the text steps read ('' for hub data)."""
    data = config["data"]
    if data["source"] == "synthetic":
        return Paths(config["results_dir"]).synthetic_glue_dir()
    return data.get("glue_dir", "")


def backbone_task_args(config: dict, backbone: str, rank, task: str) -> str:
    """The flags of every text step that runs a backbone with LoRA on a task
    (cli.add_backbone_task_args)."""
    spec = config["backbones"][backbone]
    return " ".join(
        [
            f"--model {shlex.quote(backbone_model(config, backbone))}",
            f"--task-file {shlex.quote(Paths(config['results_dir']).task(task=task))}",
            f"--data-source {'hub' if config['data']['source'] == 'hub' else 'local'}",
            f"--glue-dir {shlex.quote(glue_dir(config))}",
            f"--rank {rank} --alpha {lora_alpha(config, rank)}",
            "--target-modules " + " ".join(shlex.quote(m) for m in spec["target_modules"]),
        ]
    )


def scoring_flags(config: dict, splits) -> str:
    """--flags for condpdiff.text.score: config `scoring`, with fine-tuning's dev cap and seed.

    The selection split's size, seed and pool are not among them: they are in the selection
    cache's path, and its rule passes them from there.
    """
    scoring, ft = config["scoring"], config["finetune"]
    settings = {
        "batch_size": scoring["batch_size"],
        "max_length": scoring.get("max_length", ft.get("max_length")),
        "mixed_precision": scoring["mixed_precision"],
    }
    if "dev" in splits:
        settings["max_dev_examples"] = scoring.get("max_dev_examples", ft.get("max_dev_examples"))
        settings["dev_seed"] = ft.get("seed")
    settings = {k: v for k, v in settings.items() if k in ("max_dev_examples",) or v is not None}
    return f"--splits {words(splits)} {flags(settings)}"
