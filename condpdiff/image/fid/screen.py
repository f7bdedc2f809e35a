"""Screen one style before choosing it for Table 2: how far is the base model from it, compared
with how far the style is from itself?

``floor`` = FID between the style's own train and reference images (the best a LoRA could
reach, up to sampling); ``nolora`` = the base model's images against the reference images
(read from the no-LoRA score cache); ``ratio`` = nolora / floor. A style the tiny base already
resembles (small ratio) leaves a LoRA no room to show it learned anything. Writes a cell file
(``score`` = ratio, higher = more room) with the three fields, for the ``image_screen`` table.
"""

from __future__ import annotations

import argparse
import logging

from condpdiff.image.fid.features import fid_between, load_features
from condpdiff.pipeline.artifacts import CELL_FORMAT, SCORES_FORMAT, load_json
from condpdiff.util import cli
from condpdiff.util.atomic import write_json

log = logging.getLogger("condpdiff.image.fid.screen")


def main(argv=None) -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--train", required=True, help="features of the style's train images")
    p.add_argument("--reference", required=True, help="features of the style's reference images")
    p.add_argument(
        "--nolora", required=True, help="score cache of the base model against the reference images"
    )
    p.add_argument("--out", required=True)
    a = p.parse_args(argv)
    cli.setup_logging()
    train, ref = load_features(a.train), load_features(a.reference)
    floor = fid_between(
        train.features.reshape(-1, train.features.shape[-1]),
        ref.features.reshape(-1, ref.features.shape[-1]),
    )
    cache = load_json(a.nolora, "score cache", SCORES_FORMAT, ("task", "scores"))
    nolora = float(cache["scores"]["dev"][0]["score"])
    ratio = nolora / floor if floor > 0 else float("inf")
    write_json(
        a.out,
        {
            "format": CELL_FORMAT,
            "kind": "screen",
            "task": cache["task"],
            "metric": "fid_ratio",
            "higher_is_better": True,
            "score": ratio,
            "floor": floor,
            "nolora": nolora,
            "ratio": ratio,
            "n_train": int(train.features.shape[-2]),
            "n_reference": int(ref.features.shape[-2]),
            "extractor": cache.get("info", {}).get("extractor"),
        },
    )
    log.info("%s: floor %.3f, no-LoRA %.3f, ratio %.2f", cache["task"], floor, nolora, ratio)


if __name__ == "__main__":
    main()
