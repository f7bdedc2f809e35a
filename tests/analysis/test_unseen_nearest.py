"""analysis.unseen_nearest: the selected candidate of a cell and its distance to each task's
checkpoints."""

from __future__ import annotations

import pytest
import torch

from condpdiff.analysis.unseen_nearest import distances, selected_candidate
from condpdiff.evaluate.cells import CELL_FORMAT
from condpdiff.params.paramfile import ParamSet
from condpdiff.util.atomic import write_json

LAYOUT = [("base_model.model.bert.encoder.layer.0.attention.self.query.lora_A.weight", (1, 4))]


def test_selected_candidate_and_nearest_task(tmp_path):
    params = torch.tensor([[9.0, 9, 9, 9], [1.0, 0, 0, 0], [5.0, 5, 5, 5]])
    cands = tmp_path / "cands.safetensors"
    ParamSet(params, LAYOUT, torch.arange(3), torch.zeros(3)).save(cands)
    cell = tmp_path / "generated.json"
    write_json(
        cell, {"format": CELL_FORMAT, "params_file": str(cands), "selected_row": 1, "score": 0.0}
    )
    c = selected_candidate(str(cell))
    assert c.tolist() == [1.0, 0, 0, 0]
    d = distances(
        c,
        {"a": torch.tensor([1.0, 0, 0, 0], dtype=torch.float64), "b": torch.tensor([0.0, 2, 0, 0])},
    )
    assert d["a"] == 0.0 and d["b"] == pytest.approx(5**0.5 / 2) and min(d, key=d.get) == "a"
    write_json(cell, {"format": CELL_FORMAT, "params_file": str(cands), "score": 0.0})
    with pytest.raises(Exception, match="selected_row"):
        selected_candidate(str(cell))
