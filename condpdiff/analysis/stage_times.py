"""Wall time per pipeline stage, from the rules' Snakemake benchmark files (for docs/results/).

Every rule writes ``R/benchmarks/<rule>/<job>.tsv`` (Snakemake's format: ``s``, ``max_rss``, ...).
This sums them per rule, so the compute behind a table is reported from measurements, not
estimates:

    python -m condpdiff.analysis.stage_times results/demo_cpu/benchmarks [--markdown]

``--compare OTHER`` puts a second results folder's benchmarks beside the first, per rule: job
time before (the first folder), after (OTHER) and the ratio after / before, so a before/after
of a change to the pipeline is one command:

    python -m condpdiff.analysis.stage_times results/before/benchmarks \\
        --compare results/after/benchmarks
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd


def collect(benchmarks: str | Path) -> pd.DataFrame:
    """One row per benchmark file: rule, job, wall seconds, CPU seconds (user + system, all
    threads), peak RSS (MB).

    CPU seconds are what a job costs on a machine it shares: on a busy machine a job's wall time
    grows but its CPU time hardly does (a one-thread job alone: CPU ~ wall)."""
    root = Path(benchmarks)
    if not root.is_dir():
        raise SystemExit(f"{root}: no such benchmark folder (expected <results_dir>/benchmarks)")
    rows = []
    for tsv in sorted(root.glob("*/*.tsv")):
        df = pd.read_csv(tsv, sep="\t")
        if df.empty or "s" not in df.columns:
            raise SystemExit(
                f"{tsv}: not a Snakemake benchmark file (expected a header with column 's')"
            )
        last = df.iloc[-1]  # one line per repeat; rules here run once
        cpu = float(last["cpu_time"]) if "cpu_time" in df.columns else float("nan")
        rows.append(
            {
                "rule": tsv.parent.name,
                "job": tsv.stem,
                "s": float(last["s"]),
                "cpu_s": cpu,
                "max_rss_mb": float(last["max_rss"]),
            }
        )
    return pd.DataFrame(rows, columns=["rule", "job", "s", "cpu_s", "max_rss_mb"])


def summarize(jobs: pd.DataFrame) -> pd.DataFrame:
    """Per rule: number of jobs, total / mean / max wall seconds, total CPU seconds, peak RSS."""
    if jobs.empty:
        return pd.DataFrame(
            columns=["rule", "jobs", "total_s", "mean_s", "max_s", "total_cpu_s", "max_rss_mb"]
        )
    g = jobs.groupby("rule")
    out = pd.DataFrame(
        {
            "jobs": g.size(),
            "total_s": g["s"].sum(),
            "mean_s": g["s"].mean(),
            "max_s": g["s"].max(),
            "total_cpu_s": g["cpu_s"].sum(),
            "max_rss_mb": g["max_rss_mb"].max(),
        }
    ).reset_index()
    return out.sort_values("total_s", ascending=False, ignore_index=True)


def compare(before: pd.DataFrame, after: pd.DataFrame, measure: str = "s") -> pd.DataFrame:
    """Per rule (and in total): jobs and summed job seconds of two runs, and after / before.

    `measure`: ``s`` (wall seconds) or ``cpu_s`` (CPU seconds); the columns keep the names
    ``s_*``."""
    if measure not in ("s", "cpu_s"):
        raise ValueError(f"measure must be 's' (wall) or 'cpu_s' (CPU), got {measure!r}")
    sums = [
        jobs.groupby("rule").agg(jobs=(measure, "size"), s=(measure, "sum"))
        for jobs in (before, after)
    ]
    df = (
        sums[0]
        .merge(
            sums[1], how="outer", left_index=True, right_index=True, suffixes=("_before", "_after")
        )
        .fillna(0)
    )
    df.loc["total"] = df.sum()
    df["ratio"] = df["s_after"] / df["s_before"].where(df["s_before"] > 0)
    df = (
        df.astype({"jobs_before": int, "jobs_after": int})
        .reset_index()
        .rename(columns={"index": "rule"})
    )
    order = df["rule"] == "total"
    return pd.concat(
        [df[~order].sort_values("s_before", ascending=False), df[order]], ignore_index=True
    )


def main(argv=None) -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("benchmarks", help="a results_dir's benchmarks/ folder")
    p.add_argument("--jobs", action="store_true", help="list every job, not only the per-rule sums")
    p.add_argument("--markdown", action="store_true", help="print a Markdown table")
    p.add_argument(
        "--compare",
        metavar="OTHER",
        help="another results_dir's benchmarks/: before | after | ratio",
    )
    p.add_argument(
        "--cpu", action="store_true", help="with --compare: CPU seconds instead of wall seconds"
    )
    a = p.parse_args(argv)
    jobs = collect(a.benchmarks)
    if a.compare:
        df = compare(jobs, collect(a.compare), "cpu_s" if a.cpu else "s").round(2)
        print(df.to_markdown(index=False) if a.markdown else df.to_string(index=False))
        return
    df = jobs.sort_values(["rule", "job"], ignore_index=True) if a.jobs else summarize(jobs)
    df = df.round(1)
    print(df.to_markdown(index=False) if a.markdown else df.to_string(index=False))
    if not a.jobs:
        print(
            f"\n{len(jobs)} jobs, {jobs['s'].sum() / 60:.1f} min of wall time and "
            f"{jobs['cpu_s'].sum() / 60:.1f} min of CPU time summed over jobs"
        )


if __name__ == "__main__":
    main()
