"""FID of every generated row against a style's real images, from cached features only, written
as a score cache in the text scorer's format (``text.score``), so ``evaluate.cells`` turns it
into original / soup / generated / cross cells unchanged.

No model is loaded: generated features (``generate_images``) and real features
(``extract_features``) are read and FID is computed by torch-fidelity's statistics functions
(``features.fid_between``). Lower is better (``higher_is_better: false``).

Selection never sees a reference image: ``--split selection`` accepts only TRAIN features as
``--against``, and ``--split dev`` (reporting) only REFERENCE features. ``--best-of`` /
``--row-from`` score one row: the one a selection score cache / generated cell selects.
"""

from __future__ import annotations

import argparse
import logging
import time

from condpdiff.image.fid.features import FeatureSet, fid_between, load_features, require_comparable
from condpdiff.pipeline.artifacts import SCORES_FORMAT, artifact_error, load_json
from condpdiff.util import cli
from condpdiff.util.atomic import write_json
from condpdiff.util.ranking import selected_row

log = logging.getLogger("condpdiff.image.fid.score_fid")

SPLIT_PART = {"selection": "train", "dev": "reference"}  # the only real images each split may read


def pick_row(
    gen: FeatureSet, gen_path, best_of: str | None = None, row_from: str | None = None
) -> int | None:
    """The one row to score (a selection cache's choice or a generated cell's ``selected_row``),
    else None."""
    if best_of is not None and row_from is not None:
        raise SystemExit("give at most one of --row-from and --best-of")
    if best_of is not None:
        sel = load_json(best_of, "score cache", SCORES_FORMAT, keys=("scores", "higher_is_better"))
        if "selection" not in sel["scores"]:
            raise artifact_error(
                best_of,
                "score cache without the selection split",
                "scores['selection']",
                f"splits {sorted(sel['scores'])}",
            )
        row, source = selected_row(sel, best_of), best_of
    elif row_from is not None:
        row, source = (
            int(load_json(row_from, "generated cell", keys=("selected_row",))["selected_row"]),
            row_from,
        )
    else:
        return None
    if not 0 <= row < gen.n_rows:
        raise SystemExit(
            f"{source}: selected row {row} is not a row of {gen_path} ({gen.n_rows} rows)"
        )
    return row


def score_features(
    gen: FeatureSet,
    gen_path,
    real: FeatureSet,
    real_path,
    split: str,
    row: int | None = None,
    source: str | None = None,
) -> dict:
    """The score cache of `gen`'s rows (or its row `row`) against `real` on `split`
    (module docstring)."""
    if split not in SPLIT_PART:
        raise ValueError(f"split must be one of {sorted(SPLIT_PART)}, got {split!r}")
    if gen.info["kind"] != "generated":
        raise artifact_error(
            gen_path, "not generated image features", "kind 'generated'", repr(gen.info["kind"])
        )
    if real.info["kind"] != "real" or real.info.get("part") != SPLIT_PART[split]:
        raise artifact_error(
            real_path,
            f"wrong real images for the {split} split",
            f"features of the style's {SPLIT_PART[split]!r} images "
            "(selection reads train images only; reference images are for reporting)",
            f"kind {real.info['kind']!r}, part {real.info.get('part')!r}",
        )
    require_comparable(gen, gen_path, real, real_path)
    rows = list(range(gen.n_rows)) if row is None else [row]
    t0 = time.time()
    reference = real.row(0)
    scores = []
    for i in rows:
        value = fid_between(gen.row(i), reference)
        scores.append({"score": value, "fid": value})
        log.info("row %d: FID %.4f", i, value)
    seconds = time.time() - t0
    record = dict(gen.info.get("row_selection") or {})
    if row is not None:
        if record.get("row") is not None:
            raise artifact_error(
                gen_path,
                "features of one already selected row",
                "all candidate rows",
                f"row {record['row']} chosen by {record.get('row_from')}",
            )
        record.update(row_from=source, row=row)
    return {
        "format": SCORES_FORMAT,
        "task": real.info["style"],
        "metric": "fid",
        "higher_is_better": False,
        "params_file": gen.info.get("params_file"),
        "features_file": str(gen_path),
        "against": str(real_path),
        "generated_style": gen.info.get("style"),
        "info": gen.info,
        "n_rows": len(rows),
        "steps": [int(gen.info["steps"][i]) for i in rows],
        "head": None,
        "splits": {
            split: {
                "n_examples": int(real.info["n_images"]),
                "from": SPLIT_PART[split],
                "seed": real.info.get("split_seed"),
                "pool": "train",
                "n_generated": int(gen.info["n_images"]),
            }
        },
        "scores": {split: scores},
        "rows": record,
        "seconds": round(seconds, 3),
        "seconds_per_row": round(seconds / max(len(rows), 1), 4),
        "generation_seconds_per_row": [
            gen.info.get("seconds_per_row", [None] * gen.n_rows)[i] for i in rows
        ],
        "device": "cpu",
        "config": {
            "extractor": gen.info["extractor"],
            "feature_layer": gen.info["feature_layer"],
            "resolution": gen.info["resolution"],
            "generation": gen.info.get("generation"),
        },
    }


def main(argv=None) -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--features", required=True, help="generated image features (generate_images)")
    p.add_argument(
        "--against",
        required=True,
        help="real image features (extract_features): train or reference",
    )
    p.add_argument(
        "--split",
        required=True,
        choices=sorted(SPLIT_PART),
        help="selection (against TRAIN features) or dev (against REFERENCE features)",
    )
    p.add_argument(
        "--best-of", default=None, help="score one row: the one this selection score cache selects"
    )
    p.add_argument(
        "--row-from", default=None, help="score one row: the 'selected_row' of this generated cell"
    )
    p.add_argument("--out", required=True, help="score cache (.json)")
    a = p.parse_args(argv)
    cli.setup_logging()
    gen, real = load_features(a.features), load_features(a.against)
    row = pick_row(gen, a.features, a.best_of, a.row_from)
    cache = score_features(gen, a.features, real, a.against, a.split, row, a.best_of or a.row_from)
    write_json(a.out, cache)
    log.info("%s: %d rows against %s (%s)", a.out, cache["n_rows"], a.against, a.split)


if __name__ == "__main__":
    main()
