"""Benchmark: selecting among N candidates on the selection split, every candidate on every example
(``scoring.selection_race: 0``) vs successive halving (``selection_race: m``, condpdiff.text.race).

Candidates are random perturbations of a LoRA init on a real backbone (as in bench_scoring.py),
so their scores sit close together. Prints both wall times, the ratio, the example evaluations,
and whether the race picked the full-split winner (and the full-split score of what it picked).
Example (the local MiniLM and GLUE of the development setup):

    python benchmarks/bench_selection_race.py --num-candidates 20 --selection-examples 1000 \\
        --first 125
"""

from __future__ import annotations

import argparse
import time

import local_inputs
import torch
from bench_scoring import TARGETS, make_candidates

from condpdiff.text import data
from condpdiff.text.race import race
from condpdiff.text.score import Scorer, ScoringConfig
from condpdiff.text.tasks import get_task
from condpdiff.util.ranking import best_index


def main(argv=None) -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--model", default=str(local_inputs.MODEL))
    p.add_argument("--glue-dir", default=str(local_inputs.GLUE))
    p.add_argument("--task", default="sst2")
    p.add_argument("--num-candidates", type=int, default=20)
    p.add_argument("--selection-examples", type=int, default=1000)
    p.add_argument("--first", type=int, default=125, help="the race's first slice")
    p.add_argument("--sigma", type=float, default=0.05)
    p.add_argument("--threads", type=int, default=None)
    a = p.parse_args(argv)
    local_inputs.check(p, a)
    if a.threads:
        torch.set_num_threads(a.threads)
    task = get_task(a.task)
    selection = data.cap(
        data.load_split(task, "train", "local", a.glue_dir), a.selection_examples, 0
    )
    pset = make_candidates(a.model, task.num_labels, 1, 8, a.num_candidates, a.sigma, seed=0)
    scorer = Scorer(a.model, task, 1, 8, TARGETS, {"selection": selection}, ScoringConfig(), "cpu")
    print(
        f"cpu ({torch.get_num_threads()} threads); {task.name}: {pset.n} candidates, "
        f"{len(selection)} selection examples"
    )

    t0 = time.perf_counter()
    full = [
        m["selection"]["score"]
        for m in (
            scorer.score(pset.lora_state_dict(i), pset.head_state_dict(i)) for i in range(pset.n)
        )
    ]
    full_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    _, record = race(scorer, pset, None, a.first)
    race_s = time.perf_counter() - t0
    best, winner = best_index(full), record["winner"]
    print(
        f"full split:  {full_s:.1f}s, {pset.n * len(selection)} example evaluations, picks row "
        f"{best} ({full[best]:.2f})"
    )
    print(
        f"race (first {a.first}): {race_s:.1f}s, {record['example_evaluations']} example "
        f"evaluations, picks row {winner} ({full[winner]:.2f} on the full split)"
    )
    print(
        f"ratio full / race: {full_s / race_s:.2f}x time, "
        f"{pset.n * len(selection) / record['example_evaluations']:.2f}x example evaluations; "
        f"same pick: {winner == best}"
    )


if __name__ == "__main__":
    main()
