"""GLUE metrics against hand-computed values (x100)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from condpdiff.text import metrics

Y = [1, 0, 1, 1, 0, 0, 1, 0]
P = [1, 0, 0, 1, 1, 0, 1, 1]  # TP=3 TN=2 FP=2 FN=1


def test_accuracy():
    assert metrics.compute("accuracy", P, Y) == {"accuracy": 62.5, "score": 62.5}


def test_f1_with_accuracy():
    out = metrics.compute("f1", P, Y)
    # precision 3/5, recall 3/4 -> F1 = 2*3/(2*3+2+1) = 6/9
    assert out["f1"] == pytest.approx(100 * 6 / 9)
    assert out["accuracy"] == pytest.approx(62.5)
    assert out["score"] == out["f1"]


def test_matthews():
    # (TP*TN - FP*FN) / sqrt((TP+FP)(TP+FN)(TN+FP)(TN+FN)) = (6-2)/sqrt(5*4*4*3) = 4/sqrt(240)
    out = metrics.compute("matthews", P, Y)
    assert out["matthews"] == pytest.approx(100 * 4 / math.sqrt(240))
    assert out["score"] == out["matthews"]


def test_pearson_and_spearman():
    y = [1.0, 2.0, 3.0, 4.0]
    p = [1.0, 3.0, 2.0, 5.0]
    # pearson by hand: means 2.5, 2.75; cov terms: (-1.5)(-1.75)+(-.5)(.25)+(.5)(-.75)+(1.5)(2.25) =
    # 5.5 var y = 5, var p = 3.0625+0.0625+0.5625+5.0625 = 8.75  -> r = 5.5/sqrt(43.75)
    out = metrics.compute("pearson", p, y)
    assert out["pearson"] == pytest.approx(100 * 5.5 / math.sqrt(43.75))
    # ranks of p: 1,3,2,4 vs 1,2,3,4: d^2 = 0+1+1+0 = 2 -> rho = 1 - 6*2/(4*15) = 0.8
    assert out["spearman"] == pytest.approx(80.0)
    assert out["score"] == out["pearson"]


def test_pearson_constant_predictions_is_zero():
    out = metrics.compute("pearson", [2.0, 2.0, 2.0], [1.0, 2.0, 3.0])
    assert out["pearson"] == 0.0 and out["spearman"] == 0.0


def test_predictions_from_logits():
    logits = np.array([[0.1, 0.9], [2.0, -1.0]])
    assert metrics.predictions_from_logits(logits, regression=False).tolist() == [1, 0]
    assert metrics.predictions_from_logits(np.array([[0.5], [1.5]]), regression=True).tolist() == [
        0.5,
        1.5,
    ]


def test_unknown_metric():
    with pytest.raises(ValueError):
        metrics.compute("bleu", P, Y)


# Predictions equal to one ulp at the top of the float range: not constant (np.std is inf, not 0,
# so the constant-prediction shortcut is not taken), but scipy's pearsonr overflows to NaN.
NEAR_CONSTANT = np.array([1.7e308, 1.7e308, np.nextafter(1.7e308, 0.0)])
Y3 = np.array([1.0, 2.0, 4.0])


@pytest.mark.filterwarnings("ignore")
def test_near_constant_correlation_is_zero_not_nan():
    from scipy.stats import pearsonr, spearmanr

    assert np.std(NEAR_CONSTANT) != 0  # the metric's own constant check does not catch it ...
    assert math.isnan(pearsonr(NEAR_CONSTANT, Y3)[0])  # ... and scipy really returns NaN
    rho = spearmanr(NEAR_CONSTANT, Y3)[0]
    assert not math.isnan(rho)
    out = metrics.compute("pearson", NEAR_CONSTANT, Y3)
    assert out["pearson"] == 0.0 and out["score"] == 0.0
    assert out["spearman"] == pytest.approx(100 * rho)


@pytest.mark.filterwarnings("ignore")
def test_nan_predictions_score_zero():
    """A diverged regression model predicts NaN: both correlations are NaN in scipy, 0 here."""
    from scipy.stats import pearsonr, spearmanr

    p = np.array([np.nan, 1.0, 2.0])
    assert math.isnan(pearsonr(p, Y3)[0]) and math.isnan(spearmanr(p, Y3)[0])
    assert metrics.compute("pearson", p, Y3) == {"pearson": 0.0, "spearman": 0.0, "score": 0.0}


def test_every_metric_says_higher_is_better():
    assert set(metrics.HIGHER_IS_BETTER) == set(metrics.METRICS)
    assert all(metrics.HIGHER_IS_BETTER.values())
