"""Candidate sampling end to end through the entry points:
file format, seeding, export as a PEFT adapter."""

from __future__ import annotations

import pytest
import torch

from condpdiff.generator.pdiff import sample_candidates, train_autoencoder, train_diffusion
from condpdiff.generator.pdiff.denoiser import DenoiserConfig, UNet1D
from condpdiff.generator.pdiff.noise import LatentDiffusion, NoiseConfig, reverse_process, sample
from condpdiff.params.norm_stats import NormStats, compute
from condpdiff.params.paramfile import ParamSet, flatten, layout_of
from condpdiff.text import backbone as bb
from condpdiff.text import encode_condition, export_adapter
from condpdiff.text.tasks import GLUE_TASKS, task_to_dict
from condpdiff.util.atomic import write_json

TASKS = ["sst2", "rte"]
FAST = ["--threads", "1", "--device", "cpu"]


def harvests(model_dir, tmp_path, n=8):
    """Fake harvests in the real layout of the tiny backbone
    (LoRA + classifier head), one per task."""
    peft_model = bb.wrap_lora(
        bb.load_base_model(model_dir, 2), 1, 8, ["query", "key", "value"], dropout=0.0
    )
    lora, head = bb.split_state_dict(peft_model)
    layout = layout_of(lora)
    g = torch.Generator().manual_seed(0)
    paths = []
    for i, task in enumerate(TASKS):
        base = flatten(lora, layout) + (1.0 if i else -1.0) * 0.05
        params = base + 0.01 * torch.randn(n, base.numel(), generator=g)
        heads = {k: v.detach().float().expand(n, *v.shape).clone() + i for k, v in head.items()}
        info = {
            "kind": "checkpoints",
            "task": task,
            "rank": 1,
            "alpha": 8,
            "model": model_dir,
            "target_modules": ["query", "key", "value"],
        }
        pset = ParamSet(params, layout, torch.arange(100, 100 + n), torch.rand(n), heads, info)
        paths.append(str(tmp_path / f"{task}.harvest.safetensors"))
        pset.save(paths[-1])
    return paths


def test_sample_candidates_end_to_end(tiny_backbone, tmp_path):
    torch.set_num_threads(1)
    hv = harvests(tiny_backbone, tmp_path)
    sets = {t: ParamSet.load(p) for t, p in zip(TASKS, hv)}
    stats_path = tmp_path / "stats.safetensors"
    compute(sets, "task", 8, "0-0").save(
        stats_path
    )  # generate layer 0 only: layer 1 comes from the fill
    ae_dir, diff_dir = tmp_path / "ae", tmp_path / "diff"
    train_autoencoder.main(
        [
            "--stats",
            str(stats_path),
            "--harvests",
            *hv,
            "--tasks",
            *TASKS,
            "--out-dir",
            str(ae_dir),
            "--report",
            str(ae_dir / "report.json"),
            "--recon-dir",
            str(tmp_path / "recon"),
            "--channels",
            "4",
            "8",
            "--latent-length",
            "8",
            "--steps",
            "20",
            *FAST,
        ]
    )
    conds = []
    for t in TASKS:
        write_json(tmp_path / f"{t}.json", task_to_dict(GLUE_TASKS[t]))
        conds.append(str(tmp_path / f"{t}.cond.safetensors"))
        encode_condition.main(
            [
                "--task-file",
                str(tmp_path / f"{t}.json"),
                "--condition",
                "learnable",
                "--tasks",
                *TASKS,
                "--out",
                conds[-1],
            ]
        )
    train_diffusion.main(
        [
            "--autoencoder",
            str(ae_dir),
            "--stats",
            str(stats_path),
            "--harvests",
            *hv,
            "--tasks",
            *TASKS,
            "--conditions",
            *conds,
            "--out-dir",
            str(diff_dir),
            "--channels",
            "8",
            "16",
            "--emb-dim",
            "16",
            "--bottom-hidden",
            "16",
            "--steps",
            "20",
            *FAST,
        ]
    )
    for name in ("model.safetensors", "config.json", "curve.csv"):
        assert (ae_dir / name).exists() and (diff_dir / name).exists()
    assert (tmp_path / "recon" / "rte.safetensors").exists()
    assert len((diff_dir / "curve.csv").read_text().splitlines()) == 21

    def run(out, seed, *extra):
        sample_candidates.main(
            [
                "--diffusion",
                str(diff_dir),
                "--autoencoder",
                str(ae_dir),
                "--stats",
                str(stats_path),
                "--harvest",
                hv[1],
                "--condition",
                conds[1],
                "--task",
                "rte",
                "--sampler",
                "ddim10",
                "--seed",
                str(seed),
                "--out",
                str(out),
                *FAST,
                *extra,
            ]
        )
        return ParamSet.load(out)

    a = run(tmp_path / "a.safetensors", 0)
    b, c = run(tmp_path / "b.safetensors", 0), run(tmp_path / "c.safetensors", 1)
    harvest = sets["rte"]
    assert a.params.shape == (20, harvest.k) and torch.isfinite(a.params).all()
    assert torch.equal(a.params, b.params) and not torch.equal(a.params, c.params)
    assert torch.equal(a.steps, torch.arange(20)) and torch.isnan(a.loss).all()
    assert (
        a.layout == harvest.layout
        and a.info["kind"] == "candidates"
        and a.info["sampler"] == "ddim10"
    )
    for k, v in a.heads.items():
        assert torch.equal(v, harvest.heads[k][-1].expand_as(v))
    mask = NormStats.load(stats_path).mask
    assert not mask.all()
    assert torch.equal(
        a.params[:, ~mask], harvest.params[-1, ~mask].expand(20, -1)
    )  # filled from the last checkpoint

    # a candidate (the cell's selected row) exported as a PEFT adapter holds exactly that row
    from peft import PeftModel

    write_json(tmp_path / "cell.json", {"selected_row": 3})
    export_adapter.main(
        [
            "--model",
            tiny_backbone,
            "--task-file",
            str(tmp_path / "rte.json"),
            "--data-source",
            "local",
            "--glue-dir",
            str(tmp_path),
            "--rank",
            "1",
            "--alpha",
            "8",
            "--target-modules",
            "query",
            "key",
            "value",
            "--params",
            str(tmp_path / "a.safetensors"),
            "--cell",
            str(tmp_path / "cell.json"),
            "--head",
            "last_checkpoint",
            "--harvest",
            hv[1],
            "--out",
            str(tmp_path / "adapter"),
        ]
    )
    loaded = PeftModel.from_pretrained(
        bb.load_base_model(tiny_backbone, 2, seed=7), str(tmp_path / "adapter" / "adapter")
    )
    lora, head = bb.split_state_dict(loaded)
    assert torch.allclose(flatten(lora, a.layout), a.params[3])
    assert all(torch.allclose(head[k], harvest.heads[k][-1]) for k in a.heads)
    with pytest.raises(SystemExit):  # the export CLI needs the data flags every text step takes
        export_adapter.main(
            [
                "--model",
                tiny_backbone,
                "--task-file",
                str(tmp_path / "rte.json"),
                "--rank",
                "1",
                "--alpha",
                "8",
                "--target-modules",
                "query",
                "--params",
                str(tmp_path / "a.safetensors"),
                "--row",
                "0",
                "--out",
                str(tmp_path / "never"),
            ]
        )


@pytest.mark.parametrize(
    "sampler, guidance, eta", [("ddim6", 1.0, 0.0), ("ddim6", 2.0, 0.5), ("ddpm9", 1.0, 0.0)]
)
def test_reverse_process_yields_every_step_and_ends_at_the_sample(sampler, guidance, eta):
    """``sample`` is ``reverse_process`` run to its end: the last step's latent IS the sample, bit
    for bit, and its x0 prediction is the sample up to rounding (the final step keeps x0)."""
    torch.set_num_threads(1)
    torch.manual_seed(0)
    net = UNet1D(DenoiserConfig(channels=(4, 8), emb_dim=8, bottom_hidden=8), 2, 8, 3)
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():  # every weight random (the output layer starts at zero)
        for p in net.parameters():
            p.copy_(0.3 * torch.randn(p.shape, generator=g))
    model = LatentDiffusion(net, NoiseConfig(), shift=0.1, scale=2.0).eval()
    cond = torch.randn(4, 3, generator=torch.Generator().manual_seed(1))
    gen = torch.Generator().manual_seed(7)
    steps = list(reverse_process(model, cond, sampler, gen, guidance, eta))
    n = int(sampler[4:])
    assert [s.index for s in steps] == list(range(n))
    timesteps = [s.timestep for s in steps]
    assert timesteps == sorted(set(timesteps), reverse=True) and timesteps[-1] == 0
    expected = sample(model, cond, sampler, torch.Generator().manual_seed(7), guidance, eta)
    assert torch.equal(model.from_unit(steps[-1].u), expected)
    assert torch.allclose(model.from_unit(steps[-1].x0), expected, atol=1e-4)
    assert not torch.allclose(model.from_unit(steps[0].x0), expected, atol=1e-2)
