"""condpdiff.analysis.sampling_trajectory reruns the candidates' reverse process and keeps its x0
predictions."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import torch

from condpdiff.analysis import param_projection, sampling_trajectory
from condpdiff.analysis.sampling_trajectory import sample_with_states, schedule_points
from condpdiff.conditions.condition import Condition
from condpdiff.generator.modelio import save_model
from condpdiff.generator.pdiff import sample_candidates
from condpdiff.generator.pdiff.autoencoder import AutoencoderConfig, ParamAutoencoder
from condpdiff.generator.pdiff.denoiser import DenoiserConfig, UNet1D
from condpdiff.generator.pdiff.noise import LatentDiffusion, NoiseConfig, sample
from condpdiff.params.norm_stats import compute
from condpdiff.params.paramfile import ParamSet

TASKS = ["a", "b"]
K = 24


def tiny_diffusion(seed: int = 0, cond_dim: int = 3) -> LatentDiffusion:
    torch.manual_seed(seed)
    net = UNet1D(DenoiserConfig(channels=(4, 8), emb_dim=8, bottom_hidden=8), 2, 8, cond_dim)
    g = torch.Generator().manual_seed(seed)
    with (
        torch.no_grad()
    ):  # every weight random (the output layer starts at zero: eps = 0, a still x0)
        for p in net.parameters():
            p.copy_(0.3 * torch.randn(p.shape, generator=g))
    return LatentDiffusion(net, NoiseConfig(), shift=0.1, scale=2.0).eval()


def test_schedule_points_are_even_and_include_both_ends():
    assert schedule_points(50, 6) == [0, 10, 20, 29, 39, 49]
    assert schedule_points(5, 2) == [0, 4]
    assert schedule_points(3, 3) == [0, 1, 2]
    with pytest.raises(ValueError, match="at least 2 points"):
        schedule_points(10, 1)
    with pytest.raises(ValueError, match="7 points asked of a sampler with 5 steps"):
        schedule_points(5, 7)


@pytest.mark.parametrize(
    "sampler, guidance, eta", [("ddim8", 1.0, 0.0), ("ddim8", 2.0, 0.5), ("ddpm12", 1.0, 0.0)]
)
def test_states_loop_is_the_sampler_and_its_last_x0_is_the_sample(sampler, guidance, eta):
    torch.set_num_threads(1)
    model = tiny_diffusion()
    cond = torch.randn(4, 3, generator=torch.Generator().manual_seed(1))
    expected = sample(model, cond, sampler, torch.Generator().manual_seed(7), guidance, eta)
    steps = int(sampler[4:])
    got, states, timesteps = sample_with_states(
        model, cond, sampler, torch.Generator().manual_seed(7), guidance, eta, keep={0, steps - 1}
    )
    assert torch.equal(got, expected)  # bit for bit: the same noise draws in the same order
    assert (
        sorted(states) == [0, steps - 1]
        and len(timesteps) == steps
        and timesteps[0] > timesteps[-1]
    )
    assert torch.allclose(
        states[steps - 1], expected, atol=1e-4
    )  # the final step's x0 prediction is the sample
    assert not torch.allclose(states[0], expected, atol=1e-2)  # the first one is not


def test_first_state_is_the_x0_prediction_from_the_initial_noise():
    from condpdiff.generator.pdiff.noise import make_scheduler

    model = tiny_diffusion(seed=2)
    cond = torch.randn(3, 3, generator=torch.Generator().manual_seed(1))
    _, states, timesteps = sample_with_states(
        model, cond, "ddim5", torch.Generator().manual_seed(4), keep={0}
    )
    u = torch.randn(
        (3, 2, 8), generator=torch.Generator().manual_seed(4)
    )  # the sampler's first draw
    t = torch.full((3,), timesteps[0])
    a = make_scheduler(model.noise, "ddim").alphas_cumprod[timesteps[0]]
    x0 = (u - (1 - a).sqrt() * model.net(u, t, cond)) / a.sqrt()
    assert torch.allclose(states[0], model.from_unit(x0), atol=1e-4)


def write_setting(tmp_path):
    """Two tasks' harvests, stats, random tiny models saved as model folders,
    conditions, real candidates."""
    g = torch.Generator().manual_seed(0)
    layout = [("layer.0.w", (K,))]
    harvests, conds, cands = [], [], []
    sets = {}
    for i, t in enumerate(TASKS):
        params = (1.0 if i else -1.0) + 0.1 * torch.randn(6, K, generator=g)
        sets[t] = ParamSet(params, layout, torch.arange(10, 16), torch.rand(6), info={"task": t})
        harvests.append(str(tmp_path / f"{t}.harvest.safetensors"))
        sets[t].save(harvests[-1])
        conds.append(str(tmp_path / f"{t}.cond.safetensors"))
        Condition("onehot", torch.eye(3)[i], t, "onehot").save(conds[-1])
    stats = str(tmp_path / "stats.safetensors")
    compute(sets, "task", 6).save(stats)
    torch.manual_seed(0)
    ae = ParamAutoencoder(AutoencoderConfig(channels=(4,), latent_channels=2, latent_length=8), K)
    save_model(tmp_path / "ae", ae.eval(), "autoencoder")
    save_model(tmp_path / "diff", tiny_diffusion(), "diffusion")
    for t, h, c in zip(TASKS, harvests, conds):
        cands.append(str(tmp_path / f"{t}.cand.safetensors"))
        sample_candidates.main(
            [
                "--diffusion",
                str(tmp_path / "diff"),
                "--autoencoder",
                str(tmp_path / "ae"),
                "--stats",
                stats,
                "--harvest",
                h,
                "--condition",
                c,
                "--task",
                t,
                "--sampler",
                "ddim6",
                "--num-candidates",
                "4",
                "--seed",
                "3",
                "--threads",
                "1",
                "--device",
                "cpu",
                "--out",
                cands[-1],
            ]
        )
    pca = str(tmp_path / "pca.safetensors")
    param_projection.main(
        [
            "--tasks",
            *TASKS,
            "--harvests",
            *harvests,
            "--candidates",
            *cands,
            "--n",
            "5",
            "--components",
            "2",
            "--setting",
            "test",
            "--out",
            str(tmp_path / "p.png"),
            "--data",
            str(tmp_path / "p.csv"),
            "--summary",
            str(tmp_path / "p.json"),
            "--pca",
            pca,
        ]
    )
    return {
        "harvests": harvests,
        "conditions": conds,
        "candidates": cands,
        "stats": stats,
        "pca": pca,
    }


def run(tmp_path, files, paths=2, points=3):
    sampling_trajectory.main(
        [
            "--diffusion",
            str(tmp_path / "diff"),
            "--autoencoder",
            str(tmp_path / "ae"),
            "--stats",
            files["stats"],
            "--tasks",
            *TASKS,
            "--harvests",
            *files["harvests"],
            "--candidates",
            *files["candidates"],
            "--conditions",
            *files["conditions"],
            "--pca",
            files["pca"],
            "--paths",
            str(paths),
            "--points",
            str(points),
            "--setting",
            "tiny test",
            "--out",
            str(tmp_path / "t.png"),
            "--data",
            str(tmp_path / "t.csv"),
            "--summary",
            str(tmp_path / "t.json"),
        ]
    )


@pytest.mark.slow
def test_paths_end_at_the_candidates_and_a_foreign_candidates_file_is_refused(tmp_path):
    torch.set_num_threads(1)
    files = write_setting(tmp_path)
    run(tmp_path, files)
    table = pd.read_csv(tmp_path / "t.csv")
    assert len(table) == len(TASKS) * 2 * 3
    assert sorted(table.step_index.unique()) == [0, 2, 5]
    final = table[table.point == 2]
    assert (
        final.l2_to_final < 1e-5
    ).all()  # the last point is the candidate itself (up to float rounding)
    assert (table[table.point == 0].l2_to_final > 0).all()
    proj = param_projection.Projection.load(files["pca"])
    cand = ParamSet.load(files["candidates"][0])
    row = final[(final.task == "a") & (final.path == 1)].iloc[0]
    assert (row.pc1, row.pc2) == pytest.approx(tuple(proj.project(cand.params[1:2])[0].tolist()))
    summary = json.loads((tmp_path / "t.json").read_text())
    assert (
        summary["sampler"] == "ddim6" and summary["sampling"]["seed"] == 3 and summary["paths"] == 2
    )
    assert summary["tasks"]["a"]["max_abs_diff_to_candidates"] == 0.0
    assert summary["median_l2_to_final"][-1] < 1e-5 and (tmp_path / "t.png").stat().st_size > 0

    with pytest.raises(ValueError, match="9 trajectory paths asked, but .* holds 4 candidates"):
        run(tmp_path, files, paths=9)
    with pytest.raises(ValueError, match="candidates of another task"):
        run(tmp_path, {**files, "candidates": [files["candidates"][0]] * 2})
    tampered = ParamSet.load(files["candidates"][1])
    tampered.params[0] += 1.0
    tampered.save(files["candidates"][1])
    with pytest.raises(ValueError, match="does not reproduce"):
        run(tmp_path, files)
