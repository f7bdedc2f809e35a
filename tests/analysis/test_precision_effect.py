import pandas as pd
import pytest

from condpdiff.analysis.precision_effect import summarise


def test_summarise_reports_differences_and_best_steps_per_task():
    df = pd.DataFrame(
        {
            "task": ["a", "a", "a", "b", "b"],
            "row": [0, 1, 2, 0, 1],
            "step": [10, 20, 30, 10, 20],
            "fp32": [50.0, 60.0, 55.0, 80.0, 81.0],
            "bf16": [50.5, 59.0, 61.0, 80.0, 81.0],
        }
    )
    s = summarise(df).set_index("task")
    assert s.loc["a", "checkpoints"] == 3
    assert s.loc["a", "max_abs_diff"] == pytest.approx(6.0)
    assert s.loc["a", "mean_abs_diff"] == pytest.approx((0.5 + 1.0 + 6.0) / 3)
    assert (s.loc["a", "best_step_fp32"], s.loc["a", "best_step_bf16"]) == (
        20,
        30,
    )  # bf16 changes the pick
    assert (
        s.loc["b", "max_abs_diff"] == 0.0
        and s.loc["b", "best_step_fp32"] == s.loc["b", "best_step_bf16"] == 20
    )
