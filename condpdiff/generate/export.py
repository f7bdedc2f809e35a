"""Export a trained generator (either kind) as a self-contained generator folder
(``generate.folder``).

    python -m condpdiff.generate.export --kind pdiff --networks AE_DIR DIFF_DIR --draw ddim20 \\
        --stats STATS --harvests H1 H2 --tasks t1 t2 --conditions C1 C2 --out FOLDER \\
        [--encoder clip_model=ViT-B-32 ...] [--tables T.md ...] [--copy-base true]

The harvests give the LoRA layout, the base model, each task's fill (its last checkpoint) and
head; the pooled statistics (every training task's last n checkpoints together) become the
stats row of a condition the generator never saw. The folder is written in a temporary folder
beside ``--out`` and moved into place at the end.
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
from pathlib import Path

import torch

from condpdiff.conditions.condition import load_condition
from condpdiff.generate.folder import (
    CONFIG,
    FORMAT,
    NETWORKS,
    POOLED,
    README,
    STATS,
    TASKS,
    one_hot,
    read_config,
    tree_digest,
)
from condpdiff.params.norm_stats import NormStats, compute, load_training_harvests
from condpdiff.util import cli
from condpdiff.util.atomic import atomic_dir, save_safetensors, write_json, write_text

log = logging.getLogger("condpdiff.generate.export")


def pooled_stats(stats: NormStats, sets: dict) -> NormStats:
    """`stats` with the pooled row appended (the row ``compute`` gives a task left out of
    training)."""
    pooled = compute(sets, stats.mode, stats.n, stats.layers, unseen=[POOLED])
    if not torch.equal(pooled.mask, stats.mask):
        raise ValueError(
            "the harvests give another generated-coordinate mask than the stats (layers "
            f"{stats.layers!r})"
        )
    return NormStats(
        stats.mode,
        stats.tasks,
        torch.cat([stats.mean, pooled.mean[-1:]]),
        torch.cat([stats.std, pooled.std[-1:]]),
        stats.mask,
        stats.n,
        stats.layers,
        [*stats.unseen, POOLED],
    )


def num_labels(head_layout) -> int:
    """Labels of a task head: the output rows of its last matrix (1 = regression)."""
    mats = [shape for _, shape in head_layout if len(shape) == 2]
    if not mats:
        raise ValueError(f"a task head without a weight matrix: {head_layout}")
    return int(mats[-1][0])


def lora_spec(info: dict) -> dict:
    """Rank, alpha and target modules as the harvest records them (text and image name them
    apart)."""
    targets = info.get("target_modules", info.get("targets"))
    if targets is None or "rank" not in info or "alpha" not in info:
        raise ValueError(f"harvest info without rank, alpha or target modules: {sorted(info)}")
    return {"rank": int(info["rank"]), "alpha": int(info["alpha"]), "target_modules": list(targets)}


def model_card(cfg: dict, tables: dict[str, str]) -> str:
    """README.md: what the generator is, what it was trained on, what it scored, how to use it."""
    cond, lora = cfg["condition"], cfg["lora"]
    what = "text tasks" if cfg["domain"] == "text" else "image styles"
    flag = {"text": "--examples EXAMPLES.tsv", "image": "--images STYLE_DIR"}[cfg["domain"]]
    if one_hot(cond):
        flag = "--task TRAINING_TASK [--examples EXAMPLES.tsv]"
    elif cond["name"].split("-")[-1] in ("desc", "twoshot"):
        flag += " --description 'what the task is'"
    lines = [
        f"# condpdiff generator: {cfg['kind']} ({cfg['domain']})",
        "",
        "A Cond P-Diff generator of LoRA weights "
        f"({'autoencoder + latent diffusion' if cfg['kind'] == 'pdiff' else 'direct mapping'},"
        f" draw `{cfg['draw']}`) for the base model `{cfg['base']['model']}`"
        f"{' (copied into base/)' if cfg['base'].get('copied') else ''}.",
        "",
        "## Trained on",
        "",
        f"{len(cfg['tasks'])} {what}: " + ", ".join(f"`{t['name']}`" for t in cfg["tasks"]) + ".",
        f"Normalisation `{cfg['stats']['mode']}` over the last {cfg['stats']['n']} checkpoints of "
        f"each, layers `{cfg['stats']['layers']}`; a new condition is denormalised with the pooled "
        f"row `{POOLED}`.",
        "",
        "## Adapter",
        "",
        f"LoRA rank {lora['rank']}, alpha {lora['alpha']}, on {', '.join(lora['target_modules'])}: "
        f"{len(lora['layout'])} tensors, K = {cfg['lora']['k']} parameters.",
        "",
        "## Condition",
        "",
        f"`{cond['name']}` (encoder `{cond['encoder']}`, projection `{cond['projection']}`): "
        f"{cond['how']}",
        "",
    ]
    if tables:
        lines += ["## Scores", ""]
        for name, text in tables.items():
            lines += [f"### {name}", "", text.strip(), ""]
    lines += [
        "## Use",
        "",
        "```",
        f"condpdiff generate THIS_FOLDER {flag} --out ADAPTER_DIR",
        "```",
        "",
        "See docs/generate.md of the condpdiff repository for the options and the adapter format.",
        "",
    ]
    return "\n".join(lines)


HOW = {
    "mlp": "the encoder's embedding of the task text (name, description, two labelled examples)",
    "table": "a one-hot of the training task: only the training tasks can be generated (--task)",
    "conv": (
        "ResNet-18 feature maps of the style's images, one per image; candidate i sees image "
        "i mod n"
    ),
    "set": (
        "the sentence encoder over each labelled example ('<text> Label: <label>'); k of them "
        "pooled per draw"
    ),
}


def how(cond) -> str:
    return (
        HOW["table"]
        if one_hot({"projection": cond.projection, "encoder": cond.encoder})
        else HOW[cond.projection]
    )


def export(
    kind: str,
    networks: list[str],
    draw: str,
    stats_path: str,
    harvests: list[str],
    tasks: list[str],
    conditions: list[str],
    out: str,
    encoder: dict | None = None,
    tables: list[str] = (),
    copy_base: bool = False,
    backbone: str = "",
    copy_base_under: str | None = None,
) -> dict:
    """Write the generator folder at `out`; returns its config."""
    if len(networks) != len(NETWORKS[kind]):
        raise ValueError(
            f"--networks: a {kind} generator has {len(NETWORKS[kind])} network folders "
            f"({', '.join(NETWORKS[kind])}), got {len(networks)}"
        )
    stats = NormStats.load(stats_path)
    sets = load_training_harvests(stats, stats_path, harvests, tasks, "condpdiff.generate.export")
    if len(conditions) != len(tasks):
        raise ValueError(f"{len(conditions)} condition files for {len(tasks)} tasks")
    conds = {t: load_condition(p, {"task": t}) for t, p in zip(tasks, conditions)}
    first = sets[tasks[0]]
    info = first.info
    domain = "image" if info.get("domain") == "image" else "text"
    base = str(info.get("base") if domain == "image" else info.get("model"))
    c0 = conds[tasks[0]]
    with atomic_dir(out) as tmp:
        for name, src in zip(NETWORKS[kind], networks):
            dst = tmp / "networks" / name
            dst.mkdir(parents=True)
            for f in ("model.safetensors", "config.json"):
                shutil.copyfile(Path(src) / f, dst / f)
        pooled_stats(stats, sets).save(tmp / STATS)
        last = {t: sets[t].select([sets[t].n - 1]) for t in tasks}
        extra = {f"fill/{POOLED}": torch.cat([sets[t].last(stats.n).params for t in tasks]).mean(0)}
        for t in tasks:
            extra[f"fill/{t}"] = last[t].params[0]
            extra[f"condition/{t}"] = conds[t].embedding.float()
            extra.update({f"head/{t}/{n}": v for n, v in last[t].head_state_dict(0).items()})
        save_safetensors(
            tmp / TASKS, {k: v.contiguous() for k, v in extra.items()}, {"format": FORMAT}
        )
        inside = copy_base_under is not None and Path(base).resolve().is_relative_to(
            Path(copy_base_under).resolve()
        )
        copied = (copy_base or inside) and Path(base).is_dir()
        if copied:
            shutil.copytree(base, tmp / "base", ignore=shutil.ignore_patterns(".*"))
        cfg = {
            "format": FORMAT,
            "kind": kind,
            "domain": domain,
            "draw": draw,
            "backbone": backbone or info.get("backbone", ""),
            "base": {"model": base, "copied": copied},
            "lora": {
                **lora_spec(info),
                "layout": [[n, list(s)] for n, s in first.layout],
                "k": first.k,
            },
            "head_layout": [[n, list(v.shape[1:])] for n, v in first.heads.items()],
            "tasks": [
                {
                    "name": t,
                    **(
                        {
                            "num_labels": num_labels(
                                [(n, v.shape[1:]) for n, v in sets[t].heads.items()]
                            )
                        }
                        if domain == "text"
                        else {}
                    ),
                }
                for t in tasks
            ],
            "condition": {
                "name": c0.name,
                "encoder": c0.encoder,
                "projection": c0.projection,
                "how": how(c0),
                "settings": encoder or {},
            },
            "stats": {
                "mode": stats.mode,
                "n": stats.n,
                "layers": stats.layers,
                "pooled_row": POOLED,
            },
            "tables": [Path(t).name for t in tables if Path(t).is_file()],
        }
        cfg["files"] = tree_digest(tmp)
        write_text(
            tmp / README,
            model_card(
                cfg, {Path(t).name: Path(t).read_text() for t in tables if Path(t).is_file()}
            ),
        )
        write_json(tmp / CONFIG, cfg)
        read_config(tmp)
    return cfg


def _pairs(items: list[str]) -> dict:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise SystemExit(f"--encoder {item!r}: expected KEY=VALUE")
        out[key] = value
    return out


def main(argv=None) -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--kind", choices=sorted(NETWORKS), required=True)
    p.add_argument(
        "--networks",
        nargs="+",
        required=True,
        help="model folders: pdiff = autoencoder diffusion; direct = the direct model",
    )
    p.add_argument(
        "--draw",
        required=True,
        help="pdiff: the sampler (ddim20); direct: the recipe (k8-layer-w0.75)",
    )
    p.add_argument(
        "--stats", required=True, help="the normalisation stats the generator was trained with"
    )
    p.add_argument(
        "--harvests", nargs="+", required=True, help="harvest files, one per task, in --tasks order"
    )
    p.add_argument("--tasks", nargs="+", required=True)
    p.add_argument("--conditions", nargs="+", required=True, help="condition files, one per task")
    p.add_argument(
        "--encoder",
        nargs="*",
        default=[],
        help="condition encoder settings KEY=VALUE (conditions:)",
    )
    p.add_argument(
        "--tables",
        nargs="*",
        default=[],
        help="tables (.md) to quote in the model card, where they exist",
    )
    p.add_argument("--backbone", default="")
    p.add_argument(
        "--copy-base",
        type=cli._parse_bool,
        default=False,
        help="copy a local base model into base/",
    )
    p.add_argument(
        "--copy-base-under",
        default=None,
        help=(
            "copy the base model if it is a local folder inside this one (a model built in "
            "results/)"
        ),
    )
    p.add_argument("--out", required=True, help="the generator folder")
    a = p.parse_args(argv)
    cli.setup_logging()
    cfg = export(
        a.kind,
        a.networks,
        a.draw,
        a.stats,
        a.harvests,
        a.tasks,
        a.conditions,
        a.out,
        _pairs(a.encoder),
        a.tables,
        a.copy_base,
        a.backbone,
        a.copy_base_under,
    )
    log.info(
        "exported the %s generator (%d tasks, K = %d) to %s",
        a.kind,
        len(cfg["tasks"]),
        cfg["lora"]["k"],
        a.out,
    )
    print(json.dumps({"out": a.out, "kind": a.kind, "tasks": [t["name"] for t in cfg["tasks"]]}))


if __name__ == "__main__":
    main()
