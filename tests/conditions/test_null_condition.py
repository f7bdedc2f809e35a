"""The null condition: zeros of the task's condition's shape, recorded as control null."""

from __future__ import annotations

import pytest
import torch

from condpdiff.conditions import null_condition
from condpdiff.conditions.condition import Condition, load_condition
from condpdiff.pipeline.artifacts import ProvenanceError
from condpdiff.pipeline.paths import Paths


@pytest.mark.parametrize(
    "projection, embedding",
    [("mlp", torch.randn(6)), ("conv", torch.randn(3, 2, 4, 4)), ("set", torch.randn(5, 6))],
)
def test_zeros_of_the_conditions_shape(tmp_path, projection, embedding):
    P = Paths(str(tmp_path / "results"))
    src, out = P.condition(condition="c", task="a"), P.null_condition(condition="c", task="a")
    Condition("c", embedding, "a", "enc", "some text", projection).save(src)
    null_condition.main(["--condition", src, "--task", "a", "--out", out])
    got = load_condition(out, {"task": "a", "control": "null"})
    assert got.embedding.shape == embedding.shape and not got.embedding.any()
    assert (got.name, got.task, got.encoder, got.projection, got.text) == (
        "c",
        "a",
        "enc",
        projection,
        "",
    )
    assert got.control == "null"


def test_a_null_condition_is_not_nulled_again(tmp_path):
    """The writer reads the task's own condition: a null one in its place is refused."""
    P = Paths(str(tmp_path / "results"))
    src = P.condition(condition="c", task="a")
    Condition("c", torch.zeros(3), "a", "enc", "", "mlp", control="null").save(src)
    with pytest.raises(ProvenanceError, match="made for another control"):
        null_condition.main(["--condition", src, "--task", "a", "--out", str(tmp_path / "n")])
