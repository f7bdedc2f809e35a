"""The parameter file: round trip, row selection, the layer mask, errors that name the file."""

from __future__ import annotations

import pytest
import torch

from condpdiff.params.paramfile import FORMAT, ParamSet, flatten, layer_mask, layout_size, unflatten

LAYOUT = [
    ("base_model.model.bert.encoder.layer.0.attention.self.query.lora_A.weight", (1, 3)),
    ("base_model.model.bert.encoder.layer.0.attention.self.query.lora_B.weight", (3, 1)),
    ("base_model.model.bert.encoder.layer.1.attention.self.query.lora_A.weight", (1, 3)),
]


def pset(n=4):
    return ParamSet(
        params=torch.arange(n * 9, dtype=torch.float32).view(n, 9),
        layout=LAYOUT,
        steps=torch.arange(100, 100 + n),
        loss=torch.linspace(1, 0, n),
        heads={"classifier.weight": torch.arange(n * 4, dtype=torch.float32).view(n, 2, 2)},
        info={"task": "t", "rank": 1},
    )


def test_save_load_round_trip(tmp_path):
    a = pset()
    a.save(tmp_path / "p.safetensors")
    b = ParamSet.load(tmp_path / "p.safetensors")
    assert (
        torch.equal(a.params, b.params)
        and torch.equal(a.steps, b.steps)
        and torch.equal(a.loss, b.loss)
    )
    assert (
        b.layout == LAYOUT and b.info == a.info and b.head_layout == [("classifier.weight", (2, 2))]
    )
    assert torch.equal(b.heads["classifier.weight"], a.heads["classifier.weight"])


def test_wrong_format_and_missing_file_are_named(tmp_path):
    from condpdiff.util.atomic import save_safetensors

    save_safetensors(
        tmp_path / "x.safetensors", {"params": torch.zeros(1, 9)}, {"format": "other/1"}
    )
    with pytest.raises(
        ValueError, match=f"x.safetensors.*expected metadata format '{FORMAT}'; found 'other/1'"
    ):
        ParamSet.load(tmp_path / "x.safetensors")
    with pytest.raises(FileNotFoundError, match="nope.safetensors"):
        ParamSet.load(tmp_path / "nope.safetensors")


def test_flatten_unflatten_round_trip_and_shape_errors():
    v = torch.randn(layout_size(LAYOUT))
    sd = unflatten(v, LAYOUT)
    assert [tuple(t.shape) for t in sd.values()] == [s for _, s in LAYOUT]
    assert torch.equal(flatten(sd, LAYOUT), v)
    with pytest.raises(ValueError, match="does not fit"):
        unflatten(v[:-1], LAYOUT)
    with pytest.raises(KeyError, match="lacks 1 layout keys"):
        flatten({k: t for k, t in list(sd.items())[:2]}, LAYOUT)


def test_rows_must_agree():
    with pytest.raises(ValueError, match="K=8"):
        ParamSet(torch.zeros(2, 8), LAYOUT, torch.arange(2), torch.zeros(2))
    with pytest.raises(ValueError, match="steps has 3 rows"):
        ParamSet(torch.zeros(2, 9), LAYOUT, torch.arange(3), torch.zeros(2))


def test_select_last_and_heads():
    a = pset()
    last = a.last(2)
    assert last.steps.tolist() == [102, 103] and torch.equal(last.params, a.params[2:])
    assert torch.equal(
        last.head_state_dict(1)["classifier.weight"], a.heads["classifier.weight"][3]
    )
    assert torch.equal(a.lora_state_dict(1)[LAYOUT[0][0]], a.params[1, :3].view(1, 3))
    with pytest.raises(ValueError, match="last 5"):
        a.last(5)


def test_every_kth_row_keeps_the_last():
    p = ParamSet(
        params=torch.arange(10.0)[:, None], layout=[("w", (1,))], steps=torch.arange(100, 110),
        loss=torch.zeros(10), heads={}, info={},
    )  # fmt: skip
    assert p.every(3).steps.tolist() == [100, 103, 106, 109]
    assert p.every(1).steps.tolist() == list(range(100, 110))
    assert p.every(20).steps.tolist() == [109]
    with pytest.raises(ValueError):
        p.every(0)


def test_layer_mask():
    assert layer_mask(LAYOUT, "all").all()
    assert layer_mask(LAYOUT, "0-0").tolist() == [True] * 6 + [False] * 3
    assert layer_mask(LAYOUT, "1-5").tolist() == [False] * 6 + [True] * 3
    with pytest.raises(ValueError, match="'all' or 'a-b'"):
        layer_mask(LAYOUT, "first")
