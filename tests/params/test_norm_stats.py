"""Task / batch / no normalisation, a constant coordinate, and the denormalise round trip."""

from __future__ import annotations

import torch

from condpdiff.params.norm_stats import NormStats, compute, training_matrix
from condpdiff.params.paramfile import ParamSet

LAYOUT = [
    ("base_model.model.bert.encoder.layer.0.attention.self.query.lora_A.weight", (1, 3)),
    ("base_model.model.bert.encoder.layer.1.attention.self.query.lora_A.weight", (1, 3)),
]


def pset(params):
    n = params.shape[0]
    return ParamSet(params=params, layout=LAYOUT, steps=torch.arange(n), loss=torch.zeros(n))


def sets():
    torch.manual_seed(0)
    a = torch.randn(8, 6) * 2 + 5
    a[:, 2] = 7.0  # a constant coordinate
    b = torch.randn(8, 6) - 3
    return {"a": pset(a), "b": pset(b)}


def test_task_norm_has_zero_mean_unit_std_and_no_nan_on_constant():
    s = compute(sets(), "task", n=8)
    x, ids = training_matrix(sets(), s)
    assert torch.isfinite(x).all()
    for t in (0, 1):
        rows = x[ids == t]
        assert torch.allclose(rows.mean(0), torch.zeros(6), atol=1e-5)
    assert torch.all(x[ids == 0][:, 2] == 0)
    assert s.std[0, 2] == 1.0  # the floor, not 0


def test_denormalise_inverts_normalise(tmp_path):
    data = sets()
    for mode in ("task", "batch", "none"):
        s = compute(data, mode, n=8)
        s.save(tmp_path / f"{mode}.safetensors")
        s = NormStats.load(tmp_path / f"{mode}.safetensors")
        z = s.normalise(data["a"].params, "a")
        back = s.denormalise(z, "a", fill=torch.zeros(6))
        assert torch.allclose(back, data["a"].params, atol=1e-5), mode


def test_batch_norm_shares_stats_and_none_is_identity():
    b = compute(sets(), "batch", n=8)
    assert torch.equal(b.mean[0], b.mean[1])
    none = compute(sets(), "none", n=8)
    assert torch.equal(none.normalise(sets()["a"].params, "a"), sets()["a"].params)


def test_last_n_and_layer_mask():
    s = compute(sets(), "task", n=3, layers="1-1")
    assert s.mask.tolist() == [False] * 3 + [True] * 3
    assert torch.allclose(s.mean[0], sets()["a"].params[-3:, 3:].mean(0))
    filled = s.denormalise(torch.zeros(2, 3), "a", fill=torch.full((6,), -1.0))
    assert torch.all(filled[:, :3] == -1.0)


def test_unseen_task_gets_the_pooled_stats_and_is_not_trained_on(tmp_path):
    """Leave-one-out: the left-out task's row is the pooled stats of the training tasks,
    never its own."""
    import pytest

    data = sets()
    for mode in ("task", "batch", "none"):
        s = compute(data, mode, n=8, unseen=["c"])
        s.save(tmp_path / f"{mode}.safetensors")
        s = NormStats.load(tmp_path / f"{mode}.safetensors")
        assert s.tasks == ["a", "b"] and s.unseen == ["c"] and s.mean.shape == (3, 6)
        x, ids = training_matrix(data, s)
        assert x.shape[0] == 16 and set(ids.tolist()) == {0, 1}
        if mode != "none":
            pooled = torch.cat([data["a"].params, data["b"].params]).double()
            assert torch.allclose(s.mean[2], pooled.mean(0).float(), atol=1e-5)
            assert torch.allclose(
                s.denormalise(torch.zeros(1, 6), "c", torch.zeros(6))[0],
                pooled.mean(0).float(),
                atol=1e-5,
            )
    assert compute(data, "task", n=8).unseen == []
    with pytest.raises(ValueError, match="both trained on and unseen"):
        compute(data, "task", n=8, unseen=["a"])
    with pytest.raises(KeyError, match="not in these stats"):
        compute(data, "task", n=8).normalise(data["a"].params, "c")
