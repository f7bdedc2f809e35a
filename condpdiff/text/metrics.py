"""GLUE metrics (scikit-learn / scipy), reported x100 as in the paper."""

from __future__ import annotations

import numpy as np
from scipy.stats import pearsonr, spearmanr
from sklearn.metrics import accuracy_score, f1_score, matthews_corrcoef

METRICS = ("accuracy", "f1", "matthews", "pearson")
HIGHER_IS_BETTER = {m: True for m in METRICS}  # every GLUE metric; a score cache records it


def predictions_from_logits(logits: np.ndarray, regression: bool) -> np.ndarray:
    logits = np.asarray(logits)
    return logits.reshape(-1) if regression else logits.argmax(axis=-1)


def compute(metric: str, predictions, labels) -> dict[str, float]:
    """The task's main metric under key ``score`` plus its companions (e.g. F1 with accuracy),
    x100."""
    p, y = np.asarray(predictions), np.asarray(labels)
    if metric == "accuracy":
        out = {"accuracy": accuracy_score(y, p)}
    elif metric == "f1":
        out = {"f1": f1_score(y, p), "accuracy": accuracy_score(y, p)}
    elif metric == "matthews":
        out = {"matthews": matthews_corrcoef(y, p)}
    elif metric == "pearson":
        constant = np.std(p) == 0 or np.std(y) == 0
        out = {
            "pearson": 0.0 if constant else pearsonr(p, y)[0],
            "spearman": 0.0 if constant else spearmanr(p, y)[0],
        }
    else:
        raise ValueError(f"unknown metric {metric!r}: expected one of {METRICS}")
    # a (near-)constant prediction makes a correlation undefined (NaN): score it 0, as a constant
    # one
    out = {k: 0.0 if np.isnan(v) else float(v) * 100.0 for k, v in out.items()}
    out["score"] = out[metric]
    return out
