"""Which condition a control draw reads: the shuffled partner is a derangement of the generator's
tasks, and each control accepts exactly its own condition file."""

from __future__ import annotations

import pytest

from condpdiff.conditions.controls import condition_expectation, shuffled_partner


@pytest.mark.parametrize("n", [2, 3, 5])
def test_shuffled_partner_is_a_derangement(n):
    tasks = [f"t{i}" for i in range(n)]
    partners = [shuffled_partner(tasks, t) for t in tasks]
    assert sorted(partners) == sorted(tasks)  # a permutation
    assert all(p != t for p, t in zip(partners, tasks))  # no task keeps its own condition
    assert partners == tasks[1:] + tasks[:1]  # task i gets task i + 1 (mod T)


def test_shuffled_partner_needs_two_tasks_including_its_own():
    with pytest.raises(ValueError, match="at least two tasks"):
        shuffled_partner(["a"], "a")
    with pytest.raises(ValueError, match="not among the generator's tasks"):
        shuffled_partner(["a", "b"], "c")


def test_each_control_reads_its_own_condition():
    assert condition_expectation("a", None, None) == ({"task": "a", "control": ""}, {})
    assert condition_expectation("a", "null", None) == (
        {"task": "a", "control": "null"},
        {"control": "null"},
    )
    assert condition_expectation("a", "shuffled", "b") == (
        {"task": "b", "control": ""},
        {"control": "shuffled", "condition_task": "b"},
    )


@pytest.mark.parametrize(
    "control, condition_task, message",
    [
        (None, "b", "only a shuffled control"),
        ("null", "b", "null control reads the task's own"),
        ("shuffled", None, "needs --condition-task naming another task"),
        ("shuffled", "a", "needs --condition-task naming another task"),
        ("noise", None, "expected one of"),
    ],
)
def test_any_other_pairing_is_refused(control, condition_task, message):
    with pytest.raises(ValueError, match=message):
        condition_expectation("a", control, condition_task)
