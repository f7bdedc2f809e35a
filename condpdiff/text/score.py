"""Score every row of a parameter file (candidates, reconstructions, checkpoints, a soup) on GLUE
splits.

The base model and tokenizer are loaded ONCE and wrapped with peft LoRA once; each split is
tokenised and padded once. For every row the LoRA weights and the head are loaded into the
wrapped model in place (``backbone.load_weights``) and the padded batches are run again.

The result is one JSON *score cache* per parameter file (format ``condpdiff-scores/1``):

- ``scores[split]``: one metrics dict per row (``score`` = the task's main metric, x100), for
  each scored split: ``selection`` (a fixed, seeded subset of the TRAINING split) and/or ``dev``;
- ``steps``, ``head`` (where the head came from), ``splits`` (sizes, seeds), timings.

Any selection rule is recomputed from the cache without re-scoring (see ``evaluate.cells``).
"""

from __future__ import annotations

import argparse
import logging
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from condpdiff.params.paramfile import ParamSet, require_same_layout
from condpdiff.pipeline.artifacts import HARVEST_KINDS, SCORES_FORMAT, artifact_error, load_json
from condpdiff.pipeline.names import HEADS, SELECTION_FROM
from condpdiff.text import backbone as bb
from condpdiff.text import data
from condpdiff.text import inference as evaluation
from condpdiff.text.args import add_backbone_task_args
from condpdiff.text.metrics import HIGHER_IS_BETTER
from condpdiff.text.race import race
from condpdiff.text.tasks import Task, load_task_file
from condpdiff.util import cli
from condpdiff.util.atomic import write_json
from condpdiff.util.precision import autocast_dtype
from condpdiff.util.ranking import selected_row

log = logging.getLogger("condpdiff.text.score")

SPLITS = ("selection", "dev")


@dataclass
class ScoringConfig:
    selection_examples: int = 1000  # size of the seeded subset of the training split used to select
    selection_seed: int = 0
    selection_from: str = (
        "train"  # train | heldout: only the training examples fine-tuning did not use
    )
    batch_size: int = 128
    max_length: int = 128
    max_dev_examples: int | None = None  # the same cap (and seed) as fine-tuning's dev evaluation
    dev_seed: int = 42
    mixed_precision: str = (
        "no"  # no (exact float32 scores) | auto (bf16 where native, util.precision) | fp16 | bf16
    )


def load_splits(
    task: Task,
    source: str,
    glue_dir,
    cfg: ScoringConfig,
    splits=SPLITS,
    finetune_summary: dict | None = None,
) -> dict[str, data.Examples]:
    """The scored splits: ``selection`` = seeded subset of train, ``dev`` = (capped) dev.

    With ``selection_from: heldout`` the selection subset is drawn from the training examples
    that fine-tuning left out; `finetune_summary` (its summary.json) says which it used.
    """
    out = {}
    for split in splits:
        if split == "selection":
            train = data.load_split(task, "train", source, glue_dir)
            if cfg.selection_from == "heldout":
                train = heldout_train(train, task, finetune_summary)
            elif cfg.selection_from != "train":
                raise ValueError(
                    f"selection_from must be one of {SELECTION_FROM}, got {cfg.selection_from!r}"
                )
            out[split] = data.cap(train, cfg.selection_examples, cfg.selection_seed)
        elif split == "dev":
            out[split] = data.cap(
                data.load_split(task, "dev", source, glue_dir), cfg.max_dev_examples, cfg.dev_seed
            )
        else:
            raise ValueError(f"unknown split {split!r}: expected one of {SPLITS}")
    return out


def heldout_train(train: data.Examples, task: Task, finetune_summary: dict | None) -> data.Examples:
    """The training examples fine-tuning did not use (its ``max_train_examples`` cap and
    ``seed``)."""
    if finetune_summary is None:
        raise ValueError(
            "selection_from 'heldout' needs the fine-tuning summary (--finetune-summary)"
        )
    ft = finetune_summary.get("config", {})
    if "max_train_examples" not in ft or "seed" not in ft:
        raise ValueError("fine-tuning summary: 'config' lacks 'max_train_examples' or 'seed'")
    rest = data.held_out(train, ft["max_train_examples"], ft["seed"])
    if len(rest) == 0:
        raise ValueError(
            f"task {task.name}: scoring.selection_from is 'heldout' but fine-tuning used all "
            f"{len(train)} training examples (finetune.max_train_examples); set it below the "
            "training set size, or select with selection_from: train"
        )
    return rest


class Scorer:
    """A frozen base model wrapped with LoRA once; `score(lora, head)` loads weights in place and
    evaluates."""

    def __init__(
        self,
        model_path: str,
        task: Task,
        rank: int,
        alpha: int,
        target_modules,
        splits: dict[str, data.Examples],
        cfg: ScoringConfig | None = None,
        device: torch.device | str | None = None,
    ):
        self.cfg = cfg or ScoringConfig()
        self.task = task
        self.device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        self.tokenizer = bb.load_tokenizer(model_path)
        base = bb.load_base_model(model_path, task.num_labels)
        self.model = (
            bb.wrap_lora(base, rank, alpha, target_modules, dropout=0.0).to(self.device).eval()
        )
        self.amp = autocast_dtype(self.cfg.mixed_precision, self.device)
        self.examples = splits
        self.encoded = {
            s: evaluation.encode(self.tokenizer, ex, self.cfg.max_length)
            for s, ex in splits.items()
        }
        self.padded = {
            s: evaluation.pad_batches(self.tokenizer, enc, self.cfg.batch_size, self.device)
            for s, enc in self.encoded.items()
        }

    @property
    def split_sizes(self) -> dict[str, int]:
        return {s: len(e) for s, e in self.encoded.items()}

    def score(self, lora: dict, head: dict, splits=None) -> dict[str, dict]:
        """Metrics per split for one LoRA state dict + head (loaded into the model in place)."""
        bb.load_weights(self.model, lora, head)
        return {
            s: evaluation.evaluate(
                self.model,
                self.tokenizer,
                self.encoded[s],
                self.task,
                self.cfg.batch_size,
                self.amp,
                self.padded[s],
            )
            for s in (splits or self.encoded)
        }

    def score_paramset(self, pset: ParamSet, head: dict | None = None) -> dict[str, list[dict]]:
        """Metrics of every row: ``{split: [metrics of row 0, row 1, ...]}``; `head` overrides the
        rows' heads."""
        out: dict[str, list[dict]] = {s: [] for s in self.encoded}
        for i in range(pset.n):
            res = self.score(
                pset.lora_state_dict(i), head if head is not None else pset.head_state_dict(i)
            )
            for s, m in res.items():
                out[s].append(m)
            log.info(
                "row %d/%d: %s", i + 1, pset.n, {s: round(m["score"], 2) for s, m in res.items()}
            )
        return out


def soup(pset: ParamSet, n: int | None = None) -> ParamSet:
    """Model soup: the mean of the last `n` rows (LoRA vector and head) as a one-row ParamSet."""
    src = pset.last(n) if n is not None else pset
    return ParamSet(
        params=src.params.double().mean(0, keepdim=True).float(),
        layout=src.layout,
        steps=src.steps[-1:].clone(),
        loss=torch.full((1,), float("nan")),
        heads={k: v.double().mean(0, keepdim=True).float() for k, v in src.heads.items()},
        info={**src.info, "kind": "soup", "soup_of": src.n},
    )


def zero_lora(pset: ParamSet) -> ParamSet:
    """No LoRA: the last row with every LoRA weight zero (so the base model plus that row's
    head)."""
    last = pset.last(1)
    return ParamSet(
        torch.zeros_like(last.params),
        last.layout,
        last.steps.clone(),
        torch.full((1,), float("nan")),
        {k: v.clone() for k, v in last.heads.items()},
        {**last.info, "kind": "nolora"},
    )


def last_checkpoint_head(harvest: ParamSet) -> dict[str, torch.Tensor]:
    """The head of the last harvested checkpoint (config ``scoring.head: last_checkpoint``)."""
    return harvest.head_state_dict(harvest.n - 1)


def score_file(
    scorer: Scorer,
    pset: ParamSet,
    source: str,
    head_mode: str = "file",
    harvest: ParamSet | None = None,
    race_first: int = 0,
) -> dict:
    """Score every row of `pset` and return the score cache (see module docstring).

    ``race_first`` > 0: select by successive halving on the selection split instead of scoring
    every row on all of it (``text.race``); the cache then holds ``race`` with the winner.
    """
    if head_mode not in HEADS:
        raise ValueError(f"head must be one of {HEADS}, got {head_mode!r}")
    head = None
    if head_mode == "last_checkpoint":
        if harvest is None:
            raise ValueError("head 'last_checkpoint' needs the harvest file (--harvest)")
        head = last_checkpoint_head(harvest)
    t0 = time.time()
    race_record = None
    if race_first > 0:
        if list(scorer.encoded) != ["selection"]:
            raise ValueError(f"a race scores the selection split alone, not {list(scorer.encoded)}")
        rows, race_record = race(scorer, pset, head, race_first, where=f"{source}: selection split")
        scores = {"selection": rows}
    else:
        scores = scorer.score_paramset(pset, head)
    seconds = time.time() - t0
    dev = scorer.device
    return {
        "format": SCORES_FORMAT,
        "task": scorer.task.name,
        "metric": scorer.task.metric,
        "higher_is_better": HIGHER_IS_BETTER[scorer.task.metric],
        "params_file": str(source),
        "info": pset.info,
        "n_rows": pset.n,
        "steps": [int(s) for s in pset.steps],
        "head": head_mode,
        "splits": {
            s: {
                "n_examples": n,
                **(
                    {
                        "from": "train",
                        "seed": scorer.cfg.selection_seed,
                        "pool": scorer.cfg.selection_from,
                    }
                    if s == "selection"
                    else {"from": "dev", "cap_seed": scorer.cfg.dev_seed}
                ),
            }
            for s, n in scorer.split_sizes.items()
        },
        "scores": scores,
        **({"race": race_record} if race_record is not None else {}),
        "seconds": round(seconds, 3),
        "seconds_per_row": round(seconds / max(pset.n, 1), 4),
        "device": str(dev) if dev.type == "cpu" else torch.cuda.get_device_name(dev),
        "config": asdict(scorer.cfg),
    }


def same_file(where, recorded, path, what: str) -> None:
    """A cache or cell that names the parameter file it was made from must name `path`."""
    if recorded is not None and Path(recorded).resolve() != Path(path).resolve():
        raise artifact_error(
            where, f"made from another parameter file ({what})", repr(str(path)), repr(recorded)
        )


def main(argv=None) -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_backbone_task_args(p)
    p.add_argument(
        "--params", required=True, help="parameter file (.safetensors) whose rows are scored"
    )
    p.add_argument("--last", type=int, default=None, help="score only the last N rows")
    p.add_argument(
        "--soup", type=int, default=None, help="score one row: the mean of the last N rows"
    )
    p.add_argument(
        "--zero-lora",
        action="store_true",
        help="score one row: the last row with every LoRA weight zero (the no-LoRA baseline)",
    )
    p.add_argument(
        "--every",
        type=int,
        default=1,
        help="score every k-th row, counted back from the last (always scored)",
    )
    p.add_argument(
        "--row-from",
        default=None,
        help="score one row: the 'selected_row' of this generated cell (cross-task scoring)",
    )
    p.add_argument(
        "--best-of",
        default=None,
        help=(
            "score one row: the best on the selection split of this score cache (the selected "
            "candidate)"
        ),
    )
    p.add_argument(
        "--race",
        type=int,
        default=0,
        help=(
            "select by successive halving starting from this many selection examples (0: score "
            "all on all)"
        ),
    )
    p.add_argument(
        "--head", choices=HEADS, default="file", help="head: the file's own, or the harvest's last"
    )
    p.add_argument("--harvest", default=None, help="harvest file (for --head last_checkpoint)")
    p.add_argument("--splits", nargs="+", choices=SPLITS, default=list(SPLITS))
    p.add_argument(
        "--finetune-summary",
        default=None,
        help=(
            "fine-tuning summary.json (for --selection-from heldout: which training examples it "
            "used)"
        ),
    )
    p.add_argument("--out", required=True, help="score cache (.json)")
    cli.add_dataclass_args(p, ScoringConfig)
    a = p.parse_args(argv)
    cli.setup_logging()
    cfg = cli.dataclass_from_args(ScoringConfig, a)
    task = load_task_file(a.task_file)
    if a.row_from is not None and a.best_of is not None:
        raise SystemExit("give at most one of --row-from and --best-of")
    # the scored file is the task's own (a cross-task check: the source task's, named by its cell)
    cell = None
    if a.row_from is not None:
        cell = load_json(a.row_from, "generated cell", keys=("selected_row", "task"))
        same_file(a.row_from, cell.get("params_file"), a.params, "its params_file")
    expect = {"task": cell["task"] if cell else task.name, "rank": a.rank}
    pset = ParamSet.load(a.params, expect, "condpdiff.text.score")
    if a.last is not None:
        pset = pset.last(a.last)
    if a.soup is not None and a.zero_lora:
        raise SystemExit("give at most one of --soup and --zero-lora")
    if a.soup is not None:
        pset = soup(pset, a.soup)
    if a.zero_lora:
        pset = zero_lora(pset)
    n_in_file, row = pset.n, None
    if a.every != 1:
        pset = pset.every(a.every)
    if a.best_of is not None:
        sel = load_json(
            a.best_of,
            "score cache",
            SCORES_FORMAT,
            keys=("scores", "higher_is_better"),
            expect={"task": task.name},
        )
        same_file(a.best_of, sel.get("params_file"), a.params, "its params_file")
        if "selection" not in sel["scores"]:
            raise artifact_error(
                a.best_of,
                "score cache without the selection split",
                "scores['selection']",
                f"splits {sorted(sel['scores'])}",
            )
        row = selected_row(sel, a.best_of)
        if not 0 <= row < pset.n:
            raise SystemExit(
                f"{a.best_of}: selected row {row} is not a row of {a.params} ({pset.n} rows)"
            )
        pset = pset.select([row])
    if cell is not None:
        row = int(cell["selected_row"])
        if not 0 <= row < pset.n:
            raise SystemExit(
                f"{a.row_from}: selected_row {row} is not a row of {a.params} ({pset.n} rows)"
            )
        pset = pset.select([row])
    harvest = (
        ParamSet.load(
            a.harvest,
            {"kind": HARVEST_KINDS, "task": task.name, "rank": a.rank},
            "condpdiff.text.score (--harvest)",
        )
        if a.harvest
        else None
    )
    if harvest is not None:
        require_same_layout(pset, a.params, harvest, a.harvest)
    summary = (
        load_json(a.finetune_summary, "fine-tuning summary", keys=("config",))
        if a.finetune_summary
        else None
    )
    try:
        splits = load_splits(task, a.data_source, a.glue_dir, cfg, a.splits, summary)
    except ValueError as e:
        raise SystemExit(f"{a.finetune_summary or 'condpdiff.text.score'}: {e}") from None
    log.info(
        "task %s: %d rows; splits %s", task.name, pset.n, {s: len(e) for s, e in splits.items()}
    )
    scorer = Scorer(a.model, task, a.rank, a.alpha, a.target_modules, splits, cfg)
    try:
        cache = score_file(scorer, pset, a.params, a.head, harvest, a.race)
    except KeyError as e:  # LoRA tensor names of another backbone
        raise artifact_error(
            a.params,
            f"LoRA weights that do not fit backbone {a.model} at rank {a.rank}",
            "the backbone's LoRA tensors",
            str(e),
        ) from None
    cache["rows"] = {
        "last": a.last,
        "soup": a.soup,
        "zero_lora": a.zero_lora,
        "every": a.every,
        "row_from": a.row_from or a.best_of,
        "row": row,
    }
    cache["rows"]["in_file"] = n_in_file
    write_json(a.out, cache)
    log.info(
        "scored %d rows in %.1fs (%.3fs per row)",
        pset.n,
        cache["seconds"],
        cache["seconds_per_row"],
    )


if __name__ == "__main__":
    main()
