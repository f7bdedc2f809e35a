"""The generalisation set's table and figure, from ``score_generalisation``'s scores.

- table (Markdown and HTML): one row per test l: FID against that l's reference images of the
  generated LoRA, the nearest training l's LoRA, the retrieved one (nearest by condition images),
  the true theta(l) (floor) and the base; the relative parameter distances to theta(l); where the
  generated LoRA sits along the line (l_hat). Then the means over all test l, over the gaps and
  over the test l outside the training range, and how often generated beats each baseline;
- figure (PNG): FID (top, log scale), parameter distance (middle) and l_hat (bottom) against l,
  training bands shaded;
- with ``--training`` (``sample_generalisation_training``): the generator at its own TRAINING l,
  in parameter space only: a summary line under the table and hollow points in the l_hat panel.
"""

from __future__ import annotations

import argparse
import html
import logging

from condpdiff.image.generalisation.common import SCORES_FORMAT
from condpdiff.image.generalisation.sample_generalisation_training import FORMAT as TRAINING_FORMAT
from condpdiff.pipeline.artifacts import load_json
from condpdiff.util import cli
from condpdiff.util.atomic import atomic_path, write_text

log = logging.getLogger("condpdiff.image.generalisation.plot_generalisation")
HEADER = (
    "l",
    "where",
    "FID generated",
    "FID nearest (l)",
    "FID retrieved (l)",
    "FID true",
    "FID no-LoRA",
    "dist generated",
    "dist nearest",
    "dist retrieved",
    "l_hat",
)
STYLE = {
    "generated": ("tab:red", "o", "-"),
    "nearest": ("tab:blue", "s", "--"),
    "retrieved": ("tab:green", "^", ":"),
    "true": ("black", "x", "none"),
}


def load_record(path) -> dict:
    return load_json(
        path,
        "generalisation scores",
        SCORES_FORMAT,
        keys=("rows", "summary", "styles", "lambdas", "train"),
    )


def table_rows(record: dict) -> list[list[str]]:
    out = []
    for r in record["rows"]:
        out.append(
            [
                f"{r['lambda']:.3f}",
                r["where"],
                f"{r['fid_generated']:.3f}",
                f"{r['fid_nearest']:.3f} ({r['nearest_lambda']:.3f})",
                f"{r['fid_retrieved']:.3f} ({r['retrieved_lambda']:.3f})",
                f"{r['fid_true']:.3f}",
                f"{r['fid_nolora']:.3f}",
                f"{r['dist_generated']:.4f}",
                f"{r['dist_nearest']:.4f}",
                f"{r['dist_retrieved']:.4f}",
                f"{r['l_hat']:.3f}",
            ]
        )
    return out


def summary_rows(record: dict) -> list[list[str]]:
    out = []
    for part, s in record["summary"].items():
        m, w, n = s["mean"], s["generated_wins"], s["n"]
        out.append(
            [
                f"mean, {part} ({n} l)",
                "",
                f"{m['fid_generated']:.3f}",
                f"{m['fid_nearest']:.3f}",
                f"{m['fid_retrieved']:.3f}",
                f"{m['fid_true']:.3f}",
                f"{m['fid_nolora']:.3f}",
                f"{m['dist_generated']:.4f}",
                f"{m['dist_nearest']:.4f}",
                f"{m['dist_retrieved']:.4f}",
                "",
            ]
        )
        out.append(
            [
                f"generated better, {part}",
                "",
                "",
                f"{w['fid_vs_nearest']}/{n}",
                f"{w['fid_vs_retrieved']}/{n}",
                "",
                "",
                "",
                f"{w['dist_vs_nearest']}/{n}",
                f"{w['dist_vs_retrieved']}/{n}",
                "",
            ]
        )
    return out


def title(record: dict) -> str:
    s1, s2 = record["styles"]
    im = record["images"]
    return (
        f"Generalisation set {s1} -> {s2}: {record['points']} LoRAs theta(l) = (1 - l) theta_1 + l "
        f"theta_2, trained on {len(record['train'])} l in [0.1, 0.2) U [0.3, 0.4) U ... U [0.9, "
        f"1.0), tested on {len(record['test'])} l. FID of {im['evaluation']['n']} images (seed "
        f"{im['evaluation']['seed']}) against the l's own {im['reference']['n']} reference images "
        f"(seed {im['reference']['seed']}; lower is better); generator conditioned on "
        f"{im['condition']['n']} condition images (seed {im['condition']['seed']}), candidate "
        f"picked by '{record['select']}' of {record['candidates_per_l']}; dist = ||theta - "
        "theta(l)|| / ||theta(l)|| (raw parameters); l_hat = the l of the generated LoRA's "
        "projection onto the line."
    )


def training_line(training: dict | None) -> str:
    """One sentence on the generator at its training l
    (``sample_generalisation_training``), or ''."""
    if not training:
        return ""
    s = training["summary"]
    rows = training["rows"]
    lo, hi = min(r["l_hat"][0] for r in rows), max(r["l_hat"][0] for r in rows)
    corr = "n/a (l_hat barely moves)" if s["l_hat_corr"] is None else f"{s['l_hat_corr']:.3f}"
    recon = (
        ""
        if s["mean_recon_dist"] is None
        else f" (the autoencoder alone: {s['mean_recon_dist']:.4f})"
    )
    return (
        f"At its {s['n']} TRAINING l (parameter space only, no images) the generated LoRA is on "
        f"average {s['mean_dist']:.4f} from theta(l){recon}; its l_hat ranges {lo:.3f}..{hi:.3f} "
        f"(spread {s['l_hat_spread']:.4f} for an l spread of {s['lambda_spread']:.3f}; correlation "
        f"with l {corr})."
    )


def to_markdown(record: dict, training: dict | None = None) -> str:
    lines = [
        f"**{title(record)}**",
        "",
        "| " + " | ".join(HEADER) + " |",
        "|" + "|".join(":---" if h == "where" else "---:" for h in HEADER) + "|",
    ]
    lines += ["| " + " | ".join(r) + " |" for r in table_rows(record) + summary_rows(record)]
    if training:
        lines += ["", training_line(training)]
    return "\n".join(lines) + "\n"


def to_html(record: dict, training: dict | None = None) -> str:
    def row(cells, tag="td"):
        return "<tr>" + "".join(f"<{tag}>{html.escape(c)}</{tag}>" for c in cells) + "</tr>"

    body = "\n".join(row(r) for r in table_rows(record) + summary_rows(record))
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>generalisation</title><style>"
        "table{border-collapse:collapse;font-family:sans-serif;font-size:13px}"
        "td,th{border:1px solid #ccc;"
        "padding:2px 6px;text-align:right}</style></head><body>"
        f"<p>{html.escape(title(record))}</p><table>{row(HEADER, 'th')}\n{body}</table>"
        f"<p>{html.escape(training_line(training))}</p></body></html>\n"
    )


def plot(record: dict, path, training: dict | None = None) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = record["rows"]
    ls = [r["lambda"] for r in rows]
    fig, axes = plt.subplots(3, 1, figsize=(8, 9.5), sharex=True)
    for ax in axes:
        for a in range(1, 10, 2):
            ax.axvspan(a / 10, (a + 1) / 10, color="0.9", lw=0)
    for arm, (colour, marker, line) in STYLE.items():
        axes[0].plot(
            ls,
            [r[f"fid_{arm}"] for r in rows],
            color=colour,
            marker=marker,
            linestyle=line,
            ms=4,
            label=arm if arm != "true" else "true theta(l) (floor)",
        )
        if arm in ("generated", "nearest", "retrieved"):
            axes[1].plot(
                ls,
                [r[f"dist_{arm}"] for r in rows],
                color=colour,
                marker=marker,
                linestyle=line,
                ms=4,
                label=arm,
            )
    axes[0].axhline(
        rows[0]["fid_nolora"]
        if len({r["fid_nolora"] for r in rows}) == 1
        else sum(r["fid_nolora"] for r in rows) / len(rows),
        color="0.5",
        linestyle=":",
        label="no LoRA (mean)",
    )
    axes[0].set_yscale("log")  # the floor (~0.1) and the base (~2-4) on one panel
    axes[0].set_ylabel("FID vs the l's reference images (log)")
    axes[1].set_ylabel("||theta - theta(l)|| / ||theta(l)||")
    axes[2].plot([0, 1], [0, 1], color="0.6", lw=1, label="l_hat = l")
    axes[2].plot(
        ls,
        [r["l_hat"] for r in rows],
        color="tab:red",
        marker="o",
        linestyle="none",
        ms=4,
        label="generated: l of its projection",
    )
    if training:
        axes[2].plot(
            [r["lambda"] for r in training["rows"]],
            [r["l_hat"][0] for r in training["rows"]],
            color="tab:red",
            marker="o",
            mfc="none",
            linestyle="none",
            ms=4,
            label="generated at a TRAINING l",
        )
    axes[2].set_ylabel("l_hat")
    axes[2].set_xlabel("l  (grey bands: training l)")
    for ax in axes:
        ax.legend(fontsize=8, loc="best")
        ax.set_xlim(-0.02, 1.02)
    s1, s2 = record["styles"]
    axes[0].set_title(f"Generalisation {s1} (l=0) -> {s2} (l=1): test l only", fontsize=10)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=100)
    plt.close(fig)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--scores", required=True, help="score_generalisation's JSON")
    p.add_argument("--md", required=True, help="out: the table (.md)")
    p.add_argument("--html", required=True, help="out: the table (.html, for the report)")
    p.add_argument("--png", required=True, help="out: the figure")
    p.add_argument(
        "--training", default=None, help="sample_generalisation_training's check (.json)"
    )
    a = p.parse_args(argv)
    cli.setup_logging()
    record = load_record(a.scores)
    training = (
        load_json(
            a.training, "generalisation training check", TRAINING_FORMAT, keys=("rows", "summary")
        )
        if a.training
        else None
    )
    write_text(a.md, to_markdown(record, training))
    write_text(a.html, to_html(record, training))
    plot(record, a.png, training)
    log.info("%s, %s, %s", a.md, a.html, a.png)


if __name__ == "__main__":
    main()
