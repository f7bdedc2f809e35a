"""Mixed precision: 'auto' is bf16 only where bf16 is native; 'no' is exact fp32 everywhere."""

from __future__ import annotations

import pytest
import torch

from condpdiff.util import precision


@pytest.mark.parametrize("native", [True, False])
def test_auto_on_a_cpu_follows_the_cpu(monkeypatch, native):
    monkeypatch.setattr(precision, "cpu_has_bf16", lambda: native)
    cpu = torch.device("cpu")
    assert precision.autocast_dtype("auto", cpu) == (torch.bfloat16 if native else None)
    assert precision.autocast_dtype("no", cpu) is None
    assert precision.autocast_dtype("bf16", cpu) == torch.bfloat16  # asked for explicitly


def test_fp16_on_a_cpu_and_unknown_modes_are_refused():
    with pytest.raises(ValueError, match="needs a GPU"):
        precision.autocast_dtype("fp16", torch.device("cpu"))
    with pytest.raises(ValueError, match="mixed_precision must be one of"):
        precision.autocast_dtype("half", torch.device("cpu"))


def test_cpu_detection_answers():
    assert isinstance(precision.cpu_has_bf16(), bool)


def test_generator_window_uses_bf16_only_where_native(monkeypatch):
    from condpdiff.generator import training

    cpu = torch.device("cpu")
    monkeypatch.setattr(precision, "cpu_has_bf16", lambda: True)
    with training.autocast(cpu, 0, 100, 0.75):
        assert (
            torch.is_autocast_enabled("cpu") and torch.get_autocast_dtype("cpu") == torch.bfloat16
        )
    with training.autocast(cpu, 80, 100, 0.75):  # the last quarter in fp32
        assert not torch.is_autocast_enabled("cpu")
    monkeypatch.setattr(precision, "cpu_has_bf16", lambda: False)
    with training.autocast(cpu, 0, 100, 0.75):
        assert not torch.is_autocast_enabled("cpu")
