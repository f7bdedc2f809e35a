"""A diffusers LoRA file as a one-row parameter file: the same weights, the base's layout order,
named errors for a file of another rank, a missing file and missing metadata."""

from __future__ import annotations

import pytest
import torch

from condpdiff.generate.images import write_adapter
from condpdiff.image.base import pixart as px
from condpdiff.image.lora.adapter_params import WEIGHTS, AdapterError, adapter_row, main
from condpdiff.params.paramfile import ParamSet, flatten


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> str:
    root = tmp_path_factory.mktemp("adapter_base")
    px.build_tiny_pipeline(px.TinyPixArtConfig(), seed=0).save_pretrained(root / "base")
    return str(root / "base")


def _adapter(base: str, folder, rank: int, alpha: int, seed: int = 0) -> torch.Tensor:
    spec = px.LoraSpec(rank=rank, alpha=alpha)
    transformer = px.add_lora(px.load_components(base, text_encoder=False)["transformer"], spec)
    layout = px.lora_layout(transformer)
    k = sum(int(torch.tensor(s).prod()) for _, s in layout)
    vector = torch.randn(k, generator=torch.Generator().manual_seed(seed))
    cfg = {"lora": {"rank": rank, "alpha": alpha, "target_modules": list(spec.targets)}}
    write_adapter(transformer, vector, layout, folder, cfg)
    return vector


def test_row_holds_the_adapter_weights_in_layout_order(base, tmp_path):
    vector = _adapter(base, tmp_path / "a", rank=2, alpha=4)
    row, spec = adapter_row(tmp_path / "a", base)
    assert (spec.rank, spec.alpha) == (2, 4)
    assert row.n == 1 and torch.allclose(row.params[0], vector)
    transformer = px.add_lora(px.load_components(base, text_encoder=False)["transformer"], spec)
    assert row.layout == px.lora_layout(transformer)
    # the file the CLI writes loads as a parameter file with its rank recorded
    out = tmp_path / "row.safetensors"
    main(["--adapter", str(tmp_path / "a" / WEIGHTS), "--base", base, "--out", str(out)])
    loaded = ParamSet.load(out, {"rank": 2})
    assert torch.allclose(loaded.params, row.params)
    px.load_lora_state(transformer, loaded.lora_state_dict(0))
    assert torch.allclose(flatten(px.lora_state_dict(transformer), row.layout), vector)


def test_adapter_of_another_base_layout_is_named(base, tmp_path):
    _adapter(base, tmp_path / "a", rank=2, alpha=4)
    weights = tmp_path / "a" / WEIGHTS
    from safetensors import safe_open
    from safetensors.torch import save_file

    with safe_open(str(weights), "pt") as f:
        meta = f.metadata()
        state = {k: f.get_tensor(k) for k in f.keys()}
    first = sorted(state)[0]
    state[first] = torch.zeros(state[first].shape[0] + 1, *state[first].shape[1:])
    save_file(state, str(weights), metadata=meta)
    with pytest.raises(AdapterError, match="do not fit base .* at rank 2"):
        adapter_row(tmp_path / "a", base)


def test_missing_file_and_metadata_are_named(base, tmp_path):
    with pytest.raises(AdapterError, match="no LoRA weights file"):
        adapter_row(tmp_path / "nothing", base)
    from safetensors.torch import save_file

    (tmp_path / "b").mkdir()
    save_file({"transformer.x": torch.zeros(2)}, str(tmp_path / "b" / WEIGHTS))
    with pytest.raises(AdapterError, match="metadata without"):
        adapter_row(tmp_path / "b", base)
    out = tmp_path / "never.safetensors"
    with pytest.raises(SystemExit, match="error: .*metadata without"):
        main(["--adapter", str(tmp_path / "b"), "--base", base, "--out", str(out)])
    assert not out.exists()
