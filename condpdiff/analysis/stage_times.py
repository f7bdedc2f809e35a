"""Wall time per pipeline stage, from the rules' Snakemake benchmark files (for docs/results/).

Every rule writes ``R/benchmarks/<rule>/<job>.tsv`` (Snakemake's format: ``s``, ``max_rss``, ...).
This sums them per rule, so the compute behind a table is reported from measurements, not
estimates:

    python -m condpdiff.analysis.stage_times results/demo_cpu/benchmarks [--markdown]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd


def collect(benchmarks: str | Path) -> pd.DataFrame:
    """One row per benchmark file: rule, job, wall seconds, peak RSS (MB)."""
    root = Path(benchmarks)
    if not root.is_dir():
        raise SystemExit(f"{root}: no such benchmark folder (expected <results_dir>/benchmarks)")
    rows = []
    for tsv in sorted(root.glob("*/*.tsv")):
        df = pd.read_csv(tsv, sep="\t")
        if df.empty or "s" not in df.columns:
            raise SystemExit(f"{tsv}: not a Snakemake benchmark file (expected a header with column 's')")
        last = df.iloc[-1]  # one line per repeat; rules here run once
        rows.append({"rule": tsv.parent.name, "job": tsv.stem, "s": float(last["s"]), "max_rss_mb": float(last["max_rss"])})
    return pd.DataFrame(rows, columns=["rule", "job", "s", "max_rss_mb"])


def summarize(jobs: pd.DataFrame) -> pd.DataFrame:
    """Per rule: number of jobs, total / mean / max wall seconds, peak RSS."""
    if jobs.empty:
        return pd.DataFrame(columns=["rule", "jobs", "total_s", "mean_s", "max_s", "max_rss_mb"])
    g = jobs.groupby("rule")
    out = pd.DataFrame(
        {
            "jobs": g.size(),
            "total_s": g["s"].sum(),
            "mean_s": g["s"].mean(),
            "max_s": g["s"].max(),
            "max_rss_mb": g["max_rss_mb"].max(),
        }
    ).reset_index()
    return out.sort_values("total_s", ascending=False, ignore_index=True)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("benchmarks", help="a results_dir's benchmarks/ folder")
    p.add_argument("--jobs", action="store_true", help="list every job, not only the per-rule sums")
    p.add_argument("--markdown", action="store_true", help="print a Markdown table")
    a = p.parse_args(argv)
    jobs = collect(a.benchmarks)
    df = jobs.sort_values(["rule", "job"], ignore_index=True) if a.jobs else summarize(jobs)
    df = df.round(1)
    print(df.to_markdown(index=False) if a.markdown else df.to_string(index=False))
    if not a.jobs:
        print(f"\n{len(jobs)} jobs, {jobs['s'].sum() / 60:.1f} min of wall time summed over jobs")


if __name__ == "__main__":
    main()
