"""Training curves of one generator setting: the parameter autoencoder's and the diffusion model's
loss.

Each training step writes ``curve.csv`` (``step,loss,lr``) beside its model (docs/formats.md).
This draws both on a log scale, the raw loss faint and a rolling mean over ``--smoothing``
steps on top, with the learning rate on a second axis, and writes the data behind the figure
(``model, step, loss, loss_smooth, lr``):

    python -m condpdiff.analysis.training_curves --autoencoder GEN/pdiff/autoencoder/curve.csv \\
        --diffusion GEN/pdiff/cond-onehot/diffusion/curve.csv --smoothing 25 \\
        --setting "tiny r1 ..." --out training_curves.png --data training_curves.csv
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import pandas as pd

from condpdiff.analysis.figures import panel_grid, save_csv, save_figure
from condpdiff.pipeline.artifacts import artifact_error, require_file

COLUMNS = ("step", "loss", "lr")


def read_curve(path: str | Path) -> pd.DataFrame:
    """A model's ``curve.csv``; a missing, empty or malformed one is an error naming the file."""
    require_file(path, "training curve")
    try:
        df = pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as e:
        raise artifact_error(
            path, "unreadable training curve", "CSV with columns step,loss,lr", repr(e)
        ) from None
    missing = [c for c in COLUMNS if c not in df.columns]
    if missing:
        raise artifact_error(
            path,
            "training curve without its columns",
            f"columns {list(COLUMNS)}",
            f"columns {list(df.columns)}",
        )
    if df.empty:
        raise artifact_error(path, "empty training curve", "one row per training step", "no rows")
    bad = df[~df["loss"].map(lambda v: isinstance(v, (int, float)) and math.isfinite(v) and v > 0)]
    if not bad.empty:
        raise artifact_error(
            path,
            "training curve with a loss a log scale cannot show",
            "finite positive losses",
            f"loss {bad['loss'].iloc[0]} at step {bad['step'].iloc[0]}",
        )
    return df.sort_values("step", ignore_index=True)


def smooth(loss: pd.Series, window: int) -> pd.Series:
    """Trailing rolling mean over `window` steps (the first steps average what there is)."""
    if window < 1:
        raise ValueError(f"smoothing window must be >= 1 step, got {window}")
    return loss.rolling(window, min_periods=1).mean()


def curves_table(curves: dict[str, pd.DataFrame], window: int) -> pd.DataFrame:
    """One table of every model's curve with its smoothed loss: model, step, loss, loss_smooth,
    lr."""
    parts = []
    for model, df in curves.items():
        part = df[list(COLUMNS)].copy()
        part.insert(0, "model", model)
        part["loss_smooth"] = smooth(part["loss"], window)
        parts.append(part[["model", "step", "loss", "loss_smooth", "lr"]])
    return pd.concat(parts, ignore_index=True)


def plot(table: pd.DataFrame, setting: str, window: int):
    models = list(dict.fromkeys(table["model"]))
    fig, axes = panel_grid(len(models), max_cols=len(models), size=(5.2, 3.6))
    for ax, model in zip(axes, models):
        df = table[table["model"] == model]
        ax.plot(
            df["step"], df["loss"], color="tab:blue", alpha=0.25, lw=0.8, label="loss (per step)"
        )
        ax.plot(
            df["step"],
            df["loss_smooth"],
            color="tab:blue",
            lw=1.8,
            label=f"loss, mean of {window} steps",
        )
        ax.set_yscale("log")
        ax.set_xlabel("training step")
        ax.set_ylabel("training loss (log scale)")
        last = df["loss_smooth"].iloc[-1]
        ax.set_title(f"{model}: final smoothed loss {last:.3g}", fontsize=10)
        lr = ax.twinx()
        lr.plot(df["step"], df["lr"], color="tab:grey", ls="--", lw=1.0, label="learning rate")
        lr.set_ylabel("learning rate", color="tab:grey")
        lr.tick_params(axis="y", colors="tab:grey")
        lines = ax.get_lines() + lr.get_lines()
        ax.legend(lines, [line.get_label() for line in lines], fontsize=8, loc="upper right")
    fig.suptitle(f"Generator training curves\n{setting}", fontsize=11)
    fig.tight_layout()
    return fig


def main(argv=None) -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--autoencoder", required=True, help="the parameter autoencoder's curve.csv")
    p.add_argument("--diffusion", required=True, help="the diffusion model's curve.csv")
    p.add_argument(
        "--smoothing",
        type=int,
        required=True,
        help="rolling-mean window in steps (config analysis.curves)",
    )
    p.add_argument("--setting", required=True, help="the generator setting, for the title")
    p.add_argument("--out", required=True, help="the figure (.png)")
    p.add_argument("--data", required=True, help="the data behind it (.csv)")
    a = p.parse_args(argv)
    curves = {
        "parameter autoencoder": read_curve(a.autoencoder),
        "latent diffusion": read_curve(a.diffusion),
    }
    table = curves_table(curves, a.smoothing)
    save_csv(table, a.data)
    save_figure(plot(table, a.setting, a.smoothing), a.out)


if __name__ == "__main__":
    main()
