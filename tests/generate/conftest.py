"""Tiny trained text generators (both kinds) and their exported folders, built with the project's
training functions: two tasks trained on (syn_sentiment, syn_overlap), syn_topic left out.

The stats carry syn_topic as an unseen task (its row = the pooled statistics), so the pipeline's
own candidates for it (``sample_candidates`` / ``sample_direct``) are what ``condpdiff generate``
must reproduce from the exported folder and syn_topic's examples or description alone.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from condpdiff.generate import export
from condpdiff.params.norm_stats import compute
from condpdiff.text import data, encode_condition, encode_data_condition
from condpdiff.text.finetune_lora import FinetuneConfig, finetune
from condpdiff.text.tasks import task_from_config, task_to_dict
from condpdiff.util.atomic import write_json

TRAINED, UNSEEN = ["syn_sentiment", "syn_overlap"], "syn_topic"
SPECS = {
    "syn_sentiment": {
        "num_labels": 2,
        "metric": "accuracy",
        "glue_dir": "sentiment",
        "description": "Decide whether a short review has more positive than negative words.",
        "tsv": {"text_columns": ["sentence"], "label_column": "label"},
    },
    "syn_topic": {
        "num_labels": 2,
        "metric": "f1",
        "glue_dir": "topic_match",
        "description": "Decide whether two word lists are about the same topic.",
        "tsv": {"text_columns": ["sentence1", "sentence2"], "label_column": "label"},
    },
    "syn_overlap": {
        "num_labels": 1,
        "metric": "pearson",
        "glue_dir": "overlap",
        "description": "Rate from 0 to 5 how many words two lists share.",
        "tsv": {"text_columns": ["sentence1", "sentence2"], "label_column": "score"},
    },
}
FAST = ["--threads", "1", "--device", "cpu"]
TARGETS = ["query", "value"]


@pytest.fixture(scope="session")
def text_material(tiny_backbone, synthetic_glue, tmp_path_factory) -> dict:
    """Harvests (real tiny fine-tunes), task files, stats with syn_topic unseen, conditions."""
    torch.set_num_threads(1)
    root = Path(tmp_path_factory.mktemp("gen_text"))
    cfg = FinetuneConfig(epochs=2, lr=0.01, batch_size=16, max_length=32, harvest_last=6, seed=0)
    out = {"root": root, "harvests": {}, "task_files": {}, "tasks": {}}
    for name, spec in SPECS.items():
        task = task_from_config(name, {**spec, "examples": []})
        train = data.cap(data.load_split(task, "train", "local", synthetic_glue), 48, 0)
        pset, _ = finetune(
            tiny_backbone,
            task,
            train,
            None,
            1,
            8,
            TARGETS,
            cfg,
            torch.device("cpu"),
            {"backbone": "tiny"},
        )
        out["harvests"][name] = str(root / f"{name}.harvest.safetensors")
        pset.save(out["harvests"][name])
        out["task_files"][name] = str(root / f"{name}.task.json")
        write_json(out["task_files"][name], task_to_dict(task))
        out["tasks"][name] = task
    from condpdiff.params.paramfile import ParamSet

    sets = {t: ParamSet.load(out["harvests"][t]) for t in TRAINED}
    out["stats"] = str(root / "stats.safetensors")
    compute(sets, "task", 6, "all", unseen=[UNSEEN]).save(out["stats"])
    out["examples"] = str(Path(synthetic_glue) / "topic_match" / "train.tsv")
    for cond in ("sentence-desc", "sentence-data"):
        out[cond] = {}
        for name in out["tasks"]:
            path = str(root / f"{name}.{cond}.safetensors")
            if cond == "sentence-data":
                encode_data_condition.main(
                    [
                        "--task-file",
                        out["task_files"][name],
                        "--data-source",
                        "local",
                        "--glue-dir",
                        str(synthetic_glue),
                        "--condition",
                        cond,
                        "--out",
                        path,
                        "--examples",
                        "64",
                        "--sentence-model",
                        tiny_backbone,
                    ]
                )
            else:
                encode_condition.main(
                    [
                        "--task-file",
                        out["task_files"][name],
                        "--condition",
                        cond,
                        "--out",
                        path,
                        "--sentence-model",
                        tiny_backbone,
                    ]
                )
            out[cond][name] = path
    return out


def _export(
    m: dict, kind: str, networks: list[str], draw: str, cond: str, out: Path, tiny_backbone: str
) -> str:
    export.export(
        kind,
        networks,
        draw,
        m["stats"],
        [m["harvests"][t] for t in TRAINED],
        TRAINED,
        [m[cond][t] for t in TRAINED],
        str(out),
        {"sentence_model": tiny_backbone},
        copy_base=True,
    )
    return str(out)


def train_pdiff(
    stats: str, harvests: list[str], tasks: list[str], conditions: list[str], root: Path, steps: int
) -> tuple[str, str]:
    """A tiny autoencoder + conditional diffusion model through their entry points:
    their folders."""
    from condpdiff.generator.pdiff import train_autoencoder, train_diffusion

    ae, diff = root / "ae", root / "diff"
    common = [
        "--stats",
        stats,
        "--harvests",
        *harvests,
        "--tasks",
        *tasks,
        *FAST,
        "--steps",
        str(steps),
    ]
    train_autoencoder.main(
        [
            *common,
            "--out-dir",
            str(ae),
            "--report",
            str(ae / "report.json"),
            *"--channels 4 8 --latent-length 8".split(),
        ]
    )
    train_diffusion.main(
        [
            *common,
            "--autoencoder",
            str(ae),
            "--conditions",
            *conditions,
            "--out-dir",
            str(diff),
            *"--channels 8 16 --emb-dim 16 --bottom-hidden 16".split(),
        ]
    )
    return str(ae), str(diff)


@pytest.fixture(scope="session")
def pdiff_text(text_material, tiny_backbone) -> dict:
    """A Cond P-Diff generator on the sentence-desc condition, and its exported folder."""
    m, root = text_material, text_material["root"]
    ae, diff = train_pdiff(
        m["stats"],
        [m["harvests"][t] for t in TRAINED],
        TRAINED,
        [m["sentence-desc"][t] for t in TRAINED],
        root,
        20,
    )
    folder = _export(
        m, "pdiff", [ae, diff], "ddim10", "sentence-desc", root / "pdiff-folder", tiny_backbone
    )
    return {"folder": folder, "ae": ae, "diff": diff, "draw": "ddim10"}


@pytest.fixture(scope="session")
def direct_text(text_material, tiny_backbone) -> dict:
    """A direct generator on the sentence-data condition (k2 of the examples per draw), exported."""
    from condpdiff.generator.direct import train_direct

    m, root = text_material, text_material["root"]
    model = root / "direct"
    train_direct.main(
        [
            "--stats",
            m["stats"],
            "--harvests",
            *[m["harvests"][t] for t in TRAINED],
            "--tasks",
            *TRAINED,
            "--conditions",
            *[m["sentence-data"][t] for t in TRAINED],
            "--recipe",
            "k2-flat-w0",
            "--out-dir",
            str(model),
            "--hidden",
            "16",
            "--steps",
            "30",
            *FAST,
        ]
    )
    folder = _export(
        m,
        "direct",
        [str(model)],
        "k2-flat-w0",
        "sentence-data",
        root / "direct-folder",
        tiny_backbone,
    )
    return {"folder": folder, "model": str(model), "draw": "k2-flat-w0"}
