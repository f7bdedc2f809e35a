"""Selection by successive halving (config ``scoring.selection_race``): race the candidates on a
growing prefix of the selection split, so most of them are dropped after a few examples.

Every candidate is scored on the first `first` selection examples, the better half goes on,
the prefix doubles, ... (``util.ranking.successive_halving``). Predictions are cached per
candidate, so a longer prefix runs only the new examples, and every score computed is kept in
the score cache (``race.rounds``): a full-split selection can be recomputed from the same
candidates with ``selection_race: 0``. A NaN score stops the race with an error naming the
candidate and the prefix (``util.ranking.NaNScoreError``): it is never raced past.
"""

from __future__ import annotations

import numpy as np

from condpdiff.params.paramfile import ParamSet
from condpdiff.text import backbone as bb
from condpdiff.text import inference, metrics
from condpdiff.util.ranking import successive_halving


def race(
    scorer, pset: ParamSet, head: dict | None, first: int, where: str = "candidates"
) -> tuple[list[dict], dict]:
    """Race the rows of `pset` on ``scorer``'s selection split (`where` names them in errors).

    Returns one metrics dict per row (on the longest prefix that row was scored on, with its
    ``n_examples``) and the race record (first slice, rounds, winner, example evaluations).
    """
    examples = scorer.examples["selection"]
    labels, task = np.asarray(examples.labels), scorer.task
    logits: dict[int, list[np.ndarray]] = {}
    scored: dict[int, int] = {}
    results: dict[int, dict] = {}
    chunks: dict[tuple[int, int], tuple] = {}

    def chunk(a: int, b: int):
        if (a, b) not in chunks:
            enc = inference.encode(
                scorer.tokenizer, examples.subset(range(a, b)), scorer.cfg.max_length
            )
            padded = inference.pad_batches(
                scorer.tokenizer, enc, scorer.cfg.batch_size, scorer.device
            )
            chunks[(a, b)] = (enc, padded)
        return chunks[(a, b)]

    def score(i: int, b: int) -> float:
        a = scored.get(i, 0)
        if b > a:
            bb.load_weights(
                scorer.model,
                pset.lora_state_dict(i),
                head if head is not None else pset.head_state_dict(i),
            )
            enc, padded = chunk(a, b)
            out = inference.predict(
                scorer.model, scorer.tokenizer, enc, scorer.cfg.batch_size, scorer.amp, padded
            )
            logits.setdefault(i, []).append(out)
            scored[i] = b
        preds = metrics.predictions_from_logits(np.concatenate(logits[i])[:b], task.is_regression)
        results[i] = {**metrics.compute(task.metric, preds, labels[:b]), "n_examples": b}
        return results[i]["score"]

    winner, rounds = successive_halving(
        pset.n, len(examples), first, score, metrics.HIGHER_IS_BETTER[task.metric], what=where
    )
    record = {
        "first": first,
        "winner": winner,
        "rounds": rounds,
        "example_evaluations": sum(scored.values()),
        "full_split_evaluations": pset.n * len(examples),
    }
    return [results[i] for i in range(pset.n)], record
