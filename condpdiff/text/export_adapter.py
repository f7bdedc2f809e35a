"""Write one row of a parameter file (by default the selected generated candidate) as a standard
PEFT adapter.

``<out>/adapter`` loads with ``PeftModel.from_pretrained(AutoModelForSequenceClassification
.from_pretrained(base, num_labels=...), "<out>/adapter")``; the task head is in it (peft saves
the classifier as a ``modules_to_save`` module for SEQ_CLS). The tokenizer is saved beside it.
With ``--merge-full-model true``, ``<out>/merged`` also holds the full model with LoRA merged in
(``merge_and_unload`` + ``save_pretrained``), loadable without peft. ``<out>/selection.json``
says which row was written and why.
"""

from __future__ import annotations

import argparse
import logging

from condpdiff.params.paramfile import ParamSet
from condpdiff.pipeline.artifacts import HARVEST_KINDS, load_json
from condpdiff.pipeline.names import HEADS
from condpdiff.text import backbone as bb
from condpdiff.text.args import add_backbone_task_args
from condpdiff.text.score import last_checkpoint_head, same_file
from condpdiff.text.tasks import load_task_file
from condpdiff.util import cli
from condpdiff.util.atomic import atomic_dir, write_json

log = logging.getLogger("condpdiff.text.export_adapter")


def export(
    model_path: str,
    num_labels: int,
    rank: int,
    alpha: int,
    target_modules,
    lora: dict,
    head: dict,
    out_dir,
    merge_full_model: bool = False,
    info: dict | None = None,
) -> None:
    """Save `lora` + `head` as a PEFT adapter folder (and optionally a merged full model) at
    `out_dir`."""
    tokenizer = bb.load_tokenizer(model_path)
    base = bb.load_base_model(model_path, num_labels)
    model = bb.wrap_lora(base, rank, alpha, target_modules, dropout=0.0)
    bb.load_weights(model, lora, head)
    model.eval()
    with atomic_dir(out_dir) as tmp:
        model.save_pretrained(tmp / "adapter")
        tokenizer.save_pretrained(tmp / "adapter")
        if merge_full_model:
            merged = model.merge_and_unload()
            merged.save_pretrained(tmp / "merged")
            tokenizer.save_pretrained(tmp / "merged")
        write_json(tmp / "selection.json", info or {})


def main(argv=None) -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_backbone_task_args(p)
    p.add_argument("--params", required=True, help="parameter file (e.g. the candidates)")
    p.add_argument("--cell", default=None, help="generated.json: its selected_row is written")
    p.add_argument("--row", type=int, default=None, help="the row to write (instead of --cell)")
    p.add_argument("--head", choices=HEADS, default="file")
    p.add_argument("--harvest", default=None, help="harvest file (for --head last_checkpoint)")
    p.add_argument("--merge-full-model", type=cli._parse_bool, default=False)
    p.add_argument("--out", required=True, help="output folder (adapter/, merged/, selection.json)")
    a = p.parse_args(argv)
    cli.setup_logging()
    if (a.cell is None) == (a.row is None):
        p.error("give exactly one of --cell and --row")
    task = load_task_file(a.task_file)
    cell = {}
    if a.cell:
        cell = load_json(
            a.cell, "generated cell", keys=("selected_row",), expect={"task": task.name}
        )
        same_file(a.cell, cell.get("params_file"), a.params, "its params_file")
    row = int(cell["selected_row"]) if a.cell else a.row
    want = {"task": task.name, "rank": a.rank}
    pset = ParamSet.load(a.params, want, "condpdiff.text.export_adapter")
    if not 0 <= row < pset.n:
        raise SystemExit(
            f"{a.cell or '--row'}: row {row} is not a row of {a.params} ({pset.n} rows)"
        )
    if a.head == "last_checkpoint":
        if not a.harvest:
            p.error("--head last_checkpoint needs --harvest")
        harvest = ParamSet.load(
            a.harvest, {**want, "kind": HARVEST_KINDS}, "condpdiff.text.export_adapter (--harvest)"
        )
        head = last_checkpoint_head(harvest)
    else:
        head = pset.head_state_dict(row)
    info = {
        "params_file": a.params,
        "row": row,
        "head": a.head,
        "task": task.name,
        "model": a.model,
        "rank": a.rank,
        "alpha": a.alpha,
        "cell": cell,
        "merged_full_model": a.merge_full_model,
    }
    export(
        a.model,
        task.num_labels,
        a.rank,
        a.alpha,
        a.target_modules,
        pset.lora_state_dict(row),
        head,
        a.out,
        a.merge_full_model,
        info,
    )
    log.info("wrote row %d of %s to %s", row, a.params, a.out)


if __name__ == "__main__":
    main()
