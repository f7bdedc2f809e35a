"""The memorisation cell: distance to the nearest training checkpoint over the training
checkpoints' median nearest-neighbour distance."""

from __future__ import annotations

import json

import pytest
import torch

from condpdiff.audit import memorisation


def test_ratio_on_a_known_case():
    """Checkpoints at 0, 1, 3, 7 on a line: nearest-neighbour distances 1, 1, 2, 4, median 1.5;
    a candidate at 3.3 sits 0.3 from checkpoint 2: ratio 0.2."""
    ckpts = torch.tensor([[0.0], [1.0], [3.0], [7.0]])
    ratio, row, d, nn = memorisation.memorisation(torch.tensor([3.3]), ckpts)
    assert (row, d, nn) == (2, pytest.approx(0.3), pytest.approx(1.5))
    assert ratio == pytest.approx(0.2)


def test_checkpoints_that_coincide_have_no_ratio():
    with pytest.raises(ValueError, match="positive median nearest-neighbour distance among 1"):
        memorisation.memorisation(torch.tensor([1.0]), torch.tensor([[0.0]]))
    with pytest.raises(ValueError, match="found 0.0"):
        memorisation.memorisation(torch.tensor([1.0]), torch.zeros(3, 1))


def test_memorisation_cell_over_the_generators_tasks(toy, tmp_path):
    """Task a's last 3: e0, 2 e0, 4 e0; task b's: 7 e1, 7.5 e1, 9 e1. Nearest-neighbour distances
    1, 1, 2, 0.5, 0.5, 1.5: median 1. The selected candidate 2 e0 + 0.5 e3 is 0.5 from a's step
    13: ratio 0.5."""
    out = tmp_path / "memorisation.json"
    memorisation.main(
        [
            "--cell",
            toy["cell"],
            "--candidates",
            toy["candidates"],
            "--task",
            "a",
            "--tasks",
            "a",
            "b",
            "--harvests",
            toy["harvests"]["a"],
            toy["harvests"]["b"],
            "--n",
            "3",
            "--out",
            str(out),
        ]
    )
    cell = json.loads(out.read_text())
    assert cell["format"] == "condpdiff-cell/1" and cell["kind"] == "memorisation"
    assert cell["metric"] == "memorisation" and cell["higher_is_better"] is False
    assert cell["score"] == pytest.approx(0.5)
    assert cell["nn_median"] == pytest.approx(1.0) and cell["distance"] == pytest.approx(0.5)
    assert (cell["nearest_task"], cell["nearest_step"]) == ("a", 13)
    assert cell["n_checkpoints"] == 6 and cell["task"] == "a"
