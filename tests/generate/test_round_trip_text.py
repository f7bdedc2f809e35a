"""export -> generate -> load with plain peft -> the pipeline's own candidate for the same condition
and seed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from conftest import FAST, SPECS, UNSEEN

from condpdiff.cli import main as cli_main
from condpdiff.generate import folder as gf
from condpdiff.params.paramfile import ParamSet

pytestmark = pytest.mark.slow


def pipeline_candidates(m, gen: dict, kind: str, out: Path, n: int, seed: int) -> ParamSet:
    """The candidates the workflow's own sampling step writes for the left-out task."""
    from condpdiff.generator.direct import sample_direct
    from condpdiff.generator.pdiff import sample_candidates

    common = [
        "--stats",
        m["stats"],
        "--harvest",
        m["harvests"][UNSEEN],
        "--task",
        UNSEEN,
        "--out",
        str(out),
        "--num-candidates",
        str(n),
        "--seed",
        str(seed),
        *FAST,
    ]
    if kind == "pdiff":
        sample_candidates.main(
            [
                "--diffusion",
                gen["diff"],
                "--autoencoder",
                gen["ae"],
                "--sampler",
                gen["draw"],
                "--condition",
                m["sentence-desc"][UNSEEN],
                *common,
            ]
        )
    else:
        sample_direct.main(
            [
                "--model",
                gen["model"],
                "--recipe",
                gen["draw"],
                "--condition",
                m["sentence-data"][UNSEEN],
                *common,
            ]
        )
    return ParamSet.load(out)


def load_peft(base: str, adapter: Path, num_labels: int):
    from peft import PeftModel
    from transformers import AutoModelForSequenceClassification

    model = AutoModelForSequenceClassification.from_pretrained(base, num_labels=num_labels)
    return PeftModel.from_pretrained(model, str(adapter))


@pytest.mark.parametrize("kind", ["pdiff", "direct"])
def test_generated_adapter_is_the_pipelines_candidate(
    kind, text_material, pdiff_text, direct_text, tmp_path, capsys
):
    from condpdiff.text import backbone as bb

    m = text_material
    gen = pdiff_text if kind == "pdiff" else direct_text
    out = tmp_path / "adapter"
    argv = [
        "generate",
        gen["folder"],
        "--examples",
        m["examples"],
        "--num-labels",
        "2",
        "--name",
        UNSEEN,
        "--num-candidates",
        "3",
        "--head-steps",
        "5",
        "--seed",
        "7",
        "--out",
        str(out),
    ]
    if kind == "pdiff":
        argv += ["--description", SPECS[UNSEEN]["description"]]
    assert cli_main(argv) == 0
    printed = capsys.readouterr().out
    assert "loading" in printed and "generating" in printed and "total" in printed
    prov = json.loads((out / "provenance.json").read_text())
    assert prov["seed"] == 7 and prov["stats_row"] == gf.POOLED
    assert prov["generator_digest"] == gf.sha256_file(Path(gen["folder"]) / "config.json")
    assert len(prov["condition"]["digest"]) == 64
    selection = json.loads((out / "selection.json").read_text())
    assert selection["head"] == "fitted on the examples" and len(selection["selection_scores"]) == 3

    cands = pipeline_candidates(m, gen, kind, tmp_path / "cands.safetensors", 3, 7)
    row = selection["selected"]
    base = str(
        Path(gen["folder"]) / "base"
    )  # copied into the folder: nothing read from the results tree
    model = load_peft(base, out / "adapter", 2)
    lora, head = bb.split_state_dict(model)
    want = cands.lora_state_dict(row)
    assert set(lora) == set(want)
    for name, t in want.items():
        torch.testing.assert_close(lora[name], t, rtol=0, atol=1e-6)
    assert head and all(torch.isfinite(v).all() for v in head.values())


def test_python_m_runs_the_same_command(pdiff_text, text_material, tmp_path):
    import subprocess
    import sys

    out = tmp_path / "a"
    cmd = [
        sys.executable,
        "-m",
        "condpdiff",
        "generate",
        pdiff_text["folder"],
        "--examples",
        text_material["examples"],
        *"--num-labels 2 --description d --num-candidates 1 --head-steps 2 --out".split(),
        str(out),
    ]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    assert (out / "adapter" / "adapter_config.json").exists() and (out / "provenance.json").exists()


def test_finetune_steps_start_from_the_generated_weights(pdiff_text, text_material, tmp_path):
    m = text_material
    common = [
        "generate",
        pdiff_text["folder"],
        "--examples",
        m["examples"],
        "--num-labels",
        "2",
        "--description",
        "d",
        "--num-candidates",
        "1",
        "--head-steps",
        "2",
    ]
    assert cli_main([*common, "--out", str(tmp_path / "g")]) == 0
    assert (
        cli_main(
            [
                *common,
                "--finetune-steps",
                "3",
                "--finetune-lr",
                "0.01",
                "--out",
                str(tmp_path / "f"),
            ]
        )
        == 0
    )
    sel = json.loads((tmp_path / "f" / "selection.json").read_text())
    assert sel["finetune_steps"] == 3 and len(sel["finetune_losses"]) == 3
    base = str(Path(pdiff_text["folder"]) / "base")
    from condpdiff.text import backbone as bb

    g = bb.split_state_dict(load_peft(base, tmp_path / "g" / "adapter", 2))[0]
    f = bb.split_state_dict(load_peft(base, tmp_path / "f" / "adapter", 2))[0]
    moved = [(f[k] - g[k]).abs().max().item() for k in g]
    assert 0 < max(moved) < 0.1  # a short fine-tune moves the generated weights a little


def test_bf16_sampling_stays_near_float32(direct_text, text_material, tmp_path):
    """--precision bf16 autocasts the generator: the adapter differs from float32's only by
    rounding."""
    from condpdiff.text import backbone as bb

    common = ["generate", direct_text["folder"], "--examples", text_material["examples"]]
    common += "--num-labels 2 --num-candidates 1 --head-steps 1".split()
    assert cli_main([*common, "--out", str(tmp_path / "f32")]) == 0
    assert cli_main([*common, "--precision", "bf16", "--out", str(tmp_path / "b16")]) == 0
    prov = json.loads((tmp_path / "b16" / "provenance.json").read_text())
    assert prov["options"]["precision"] == "bf16"
    base = str(Path(direct_text["folder"]) / "base")
    a = bb.split_state_dict(load_peft(base, tmp_path / "f32" / "adapter", 2))[0]
    b = bb.split_state_dict(load_peft(base, tmp_path / "b16" / "adapter", 2))[0]
    gap = max((a[k] - b[k]).abs().max().item() for k in a)
    scale = max(a[k].abs().max().item() for k in a)
    assert 0 < gap < 0.05 * scale
