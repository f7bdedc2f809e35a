import math

import numpy as np
import pytest

from condpdiff.evaluate.intervals import (
    bootstrap_interval,
    nested_interval,
    paired_interval,
    seed_interval,
)


def test_seed_interval_known_case():
    # [1, 2, 3]: mean 2, sd 1, se 1/sqrt(3); t(0.975, df=2) = 4.302653 -> 2 +- 2.484138
    iv = seed_interval([1.0, 2.0, 3.0])
    assert iv.mean == pytest.approx(2.0)
    assert iv.lo == pytest.approx(2 - 4.302653 / math.sqrt(3), abs=1e-5)
    assert iv.hi == pytest.approx(2 + 4.302653 / math.sqrt(3), abs=1e-5)
    assert iv.n == 3 and iv.has_interval and not iv.excludes_zero
    assert iv.format(2) == "2.00 [-0.48, 4.48]"


def test_one_seed_has_no_interval_and_says_so():
    iv = seed_interval([64.0])
    assert iv.n == 1 and not iv.has_interval and math.isnan(iv.lo)
    assert not iv.excludes_zero
    assert iv.format() == "64.0 (one seed)"


def test_zero_spread_is_a_point_interval():
    iv = seed_interval([5.0, 5.0, 5.0])
    assert (iv.lo, iv.hi) == (5.0, 5.0) and iv.excludes_zero


def test_paired_difference_removes_shared_noise():
    # both arms move with the seed; the difference is a steady +1 +- 0.1
    shared = np.array([60.0, 70.0, 65.0, 62.0])
    a = shared + np.array([1.0, 1.1, 0.9, 1.0])
    iv = paired_interval(a, shared)
    assert iv.mean == pytest.approx(1.0)
    assert iv.excludes_zero and iv.lo > 0.8 and iv.hi < 1.2
    # unpaired, the same arms' intervals overlap widely
    assert seed_interval(a).lo < seed_interval(shared).hi


def test_paired_needs_equal_lengths():
    with pytest.raises(ValueError, match="paired seed by seed; found 2 and 3"):
        paired_interval([1, 2], [1, 2, 3])


def test_nan_is_refused_by_name():
    with pytest.raises(ValueError, match=r"position\(s\) \[1\] are not finite"):
        seed_interval([1.0, float("nan"), 2.0])


def test_bootstrap_reproducible_and_covers_the_mean():
    rng = np.random.default_rng(3)
    x = rng.normal(10.0, 2.0, size=30)
    a, b = bootstrap_interval(x, seed=1), bootstrap_interval(x, seed=1)
    assert (a.lo, a.hi) == (b.lo, b.hi)
    assert a.lo < x.mean() < a.hi
    # about as wide as the t interval for normal data
    t = seed_interval(x)
    assert a.half_width == pytest.approx(t.half_width, rel=0.25)
    assert a.method == "bootstrap"


def test_nested_interval_over_finetune_seed_means():
    from scipy import stats

    # f=0: generator seeds 1, 2 -> 1.5; f=1: 3, 5 -> 4; t interval over [1.5, 4] (df = 1)
    iv = nested_interval([1.0, 2.0, 3.0, 5.0], [0, 0, 1, 1])
    half = stats.t.ppf(0.975, 1) * stats.sem([1.5, 4.0])
    assert iv.n == 2 and iv.mean == pytest.approx(2.75)
    assert (iv.lo, iv.hi) == (pytest.approx(2.75 - half), pytest.approx(2.75 + half))
    # unequal group sizes: the mean is the mean of the group means (2 and 10), not of the values
    uneven = nested_interval([1.0, 2.0, 3.0, 10.0], [0, 0, 0, 1])
    assert uneven.mean == pytest.approx(6.0) and uneven.n == 2


def test_nested_interval_with_one_finetune_seed_is_over_generator_seeds():
    iv = nested_interval([1.0, 2.0, 3.0], [0, 0, 0])
    assert iv == seed_interval([1.0, 2.0, 3.0])
    one = nested_interval([64.0], [0])
    assert one.n == 1 and one.format() == "64.0 (one seed)"


def test_nested_interval_refuses_mismatched_groups_and_nan():
    with pytest.raises(ValueError, match="one group .* per value; found 3 values and 2 groups"):
        nested_interval([1.0, 2.0, 3.0], [0, 1])
    with pytest.raises(ValueError, match=r"nested_interval: value\(s\) at position\(s\) \[0\]"):
        nested_interval([float("nan"), 1.0], [0, 1])
