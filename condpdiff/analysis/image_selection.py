"""How well does the image branch's selection rule rank the candidates?

Table 2's generated cell is the candidate whose images are closest (FID) to the style's TRAIN
images; it is reported against the held-out REFERENCE images. From the cached features alone
(no generation), for every style this prints each candidate's FID against both image sets, the
Spearman rank correlation between the two (1 = the train images rank the candidates exactly as
the reference images would), the reference FID of the candidate the rule picks, the best and
the median reference FID over the candidates, and the rule's regret (picked - best):

    python -m condpdiff.analysis.image_selection results/image_demo_cpu/image/eval/<eval part>

(``<eval part>`` = ``{extractor}-n{images}-steps{steps}-g{guidance}-seed{seed}``). With ``--md``
the table is written as Markdown too.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd
from scipy.stats import spearmanr

from condpdiff.image.fid.features import fid_between, load_features


def candidate_files(eval_dir: Path) -> list[Path]:
    """E/features/{backbone}/r{rank}/n{n}/layers-*/norm-*/{kind}/cond-*/{draw}/{task}.safetensors"""
    return sorted(eval_dir.glob("features/*/r*/n*/layers-*/norm-*/*/cond-*/*/*.safetensors"))


def rank_style(features: Path, eval_dir: Path) -> dict:
    style = features.stem
    gen = load_features(features)
    real = {
        part: load_features(eval_dir / "real" / style / f"{part}.safetensors").row(0)
        for part in ("train", "reference")
    }
    train = [fid_between(gen.row(i), real["train"]) for i in range(gen.n_rows)]
    ref = [fid_between(gen.row(i), real["reference"]) for i in range(gen.n_rows)]
    picked = min(range(len(train)), key=train.__getitem__)
    rho = spearmanr(train, ref).statistic
    return {
        "style": style,
        "setting": str(features.parent.relative_to(eval_dir / "features")),
        "n_candidates": gen.n_rows,
        "spearman": float(rho),
        "picked": picked,
        "picked_ref_fid": ref[picked],
        "best_ref_fid": min(ref),
        "median_ref_fid": float(pd.Series(ref).median()),
        "regret": ref[picked] - min(ref),
    }


def main(argv=None) -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("eval_dir", help="results/<...>/image/eval/<eval part>")
    p.add_argument("--md", default=None, help="also write the table as Markdown here")
    a = p.parse_args(argv)
    eval_dir = Path(a.eval_dir)
    files = candidate_files(eval_dir)
    if not files:
        raise SystemExit(
            f"{eval_dir}: no candidate features under features/ (run the image branch's table2 "
            "first)"
        )
    df = pd.DataFrame([rank_style(f, eval_dir) for f in files])
    text = df.to_markdown(index=False, floatfmt=".3f")
    summary = (
        f"\nmean Spearman {df.spearman.mean():.3f}; the rule picks the best-on-reference candidate "
        f"for {int((df.regret == 0).sum())} of {len(df)} styles; mean regret "
        f"{df.regret.mean():.3f} FID; picked vs median candidate {df.picked_ref_fid.mean():.3f} vs "
        f"{df.median_ref_fid.mean():.3f}\n"
    )
    print(text + "\n" + summary)
    if a.md:
        Path(a.md).write_text(text + "\n" + summary)


if __name__ == "__main__":
    main()
