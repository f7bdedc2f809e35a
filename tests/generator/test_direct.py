"""The direct generator: recipe, condition draws, arrangements, loss weights,
and train -> sample end to end."""

from __future__ import annotations

import pytest
import torch
from test_sampling import TASKS, harvests  # tests/generator is on sys.path (pytest prepend mode)

from condpdiff.conditions.condition import Condition, load_condition
from condpdiff.generator.direct import arrangement as arr
from condpdiff.generator.direct import sample_direct, train_direct
from condpdiff.generator.direct.conditioning import ConditionBank, Recipe, condition_items
from condpdiff.generator.direct.network import load_direct
from condpdiff.params.norm_stats import NormStats, compute
from condpdiff.params.paramfile import ParamSet

FAST = ["--threads", "1", "--device", "cpu"]


def test_recipe_round_trip_and_errors():
    r = Recipe.parse("k8-layer-w0.75")
    assert (r.k, r.arrangement, r.exponent) == (8, "layer", 0.75) and str(r) == "k8-layer-w0.75"
    assert str(Recipe.parse("k1-flat-w0")) == "k1-flat-w0"
    for bad in ("ddim50", "k0-flat-w0", "k8-mlp-w1", "k8-flat"):
        with pytest.raises(ValueError, match="recipe"):
            Recipe.parse(bad)


def test_bank_draws_distinct_items_of_the_rows_own_task():
    items = [torch.arange(5.0)[:, None].expand(5, 3) + 100 * t for t, n in enumerate((5, 2))]
    items[1] = items[1][:2]
    bank = ConditionBank(items)
    g = torch.Generator().manual_seed(0)
    tasks = torch.tensor([0, 1, 0, 1])
    idx, valid = bank.draw_indices(tasks, 3, g)
    assert valid.tolist() == [[True] * 3, [True, True, False], [True] * 3, [True, True, False]]
    for row, (t, v) in enumerate(zip(tasks.tolist(), valid)):
        chosen = idx[row][v].tolist()
        assert len(set(chosen)) == len(chosen) and max(chosen) < (5, 2)[t]
    pooled = bank.pool(tasks, idx, valid)
    assert torch.allclose(
        pooled[1], torch.full((3,), 100.5)
    )  # task 1: both of its items, whatever k asks
    assert 0 <= float(pooled[0, 0]) <= 4


def test_condition_items_of_each_projection():
    maps = torch.rand(4, 3, 2, 2)
    conv = condition_items(Condition("resnet18-image", maps, "s", "enc", "", "conv"))
    assert conv.shape == (4, 6) and torch.allclose(conv[:, :3], maps.flatten(2).mean(2))
    assert condition_items(Condition("sentence-desc", torch.rand(7), "t", "enc")).shape == (1, 7)
    assert condition_items(
        Condition("sentence-data", torch.rand(9, 7), "t", "enc", "", "set")
    ).shape == (9, 7)


def test_layer_targets_invert_and_weights_follow_the_task_share():
    g = torch.Generator().manual_seed(0)
    raw = torch.randn(6, 10, generator=g)
    raw[:3, :4] += 5.0  # the first tensor differs between the two tasks, the second does not
    segs = [(0, 4), (4, 10)]
    z, stats = arr.layer_targets(raw, segs)
    assert torch.allclose(arr.layer_weights(z, stats, segs), raw, atol=1e-5)
    share = arr.variance_share(raw, torch.tensor([0, 0, 0, 1, 1, 1]), segs)
    assert share[0] > 0.8 > share[1]
    w = arr.coordinate_weights(share, segs, 0.75)
    assert torch.isclose(w.mean(), torch.tensor(1.0)) and w[0] > w[-1]
    assert torch.allclose(arr.coordinate_weights(share, segs, 0.0), torch.ones(10))


def data_conditions(tmp_path, n_items=6):
    """A data condition per task whose items sit apart per task
    (the generator can tell the tasks apart)."""
    g, paths = torch.Generator().manual_seed(1), []
    for i, t in enumerate(TASKS):
        emb = torch.randn(n_items, 5, generator=g) * 0.1 + (2.0 * i - 1.0)
        paths.append(str(tmp_path / f"{t}.data.safetensors"))
        Condition("sentence-data", emb, t, "test", f"{n_items} items", "set").save(paths[-1])
    return paths


@pytest.mark.parametrize("recipe", ["k2-layer-w0.75", "k2-flat-w0"])
def test_train_and_sample_end_to_end(tiny_backbone, tmp_path, recipe):
    torch.set_num_threads(1)
    hv = harvests(tiny_backbone, tmp_path)
    sets = {t: ParamSet.load(p) for t, p in zip(TASKS, hv)}
    stats_path = tmp_path / "stats.safetensors"
    compute(sets, "task", 8, "0-0").save(stats_path)  # layer 0 only: layer 1 comes from the fill
    conds, model = data_conditions(tmp_path), tmp_path / "model"
    train_direct.main(
        [
            "--stats",
            str(stats_path),
            "--harvests",
            *hv,
            "--tasks",
            *TASKS,
            "--conditions",
            *conds,
            "--recipe",
            recipe,
            "--out-dir",
            str(model),
            "--hidden",
            "32",
            "--layer-hidden",
            "32",
            "--layer-embedding",
            "8",
            "--steps",
            "300",
            "--lr",
            "0.003",
            *FAST,
        ]
    )
    net = load_direct(model)
    assert net.extra["recipe"] == recipe and net.extra["tasks"] == TASKS
    out = {}
    for t, c, h in zip(TASKS, conds, hv):
        out[t] = tmp_path / f"{t}.cands.safetensors"
        sample_direct.main(
            [
                "--model",
                str(model),
                "--stats",
                str(stats_path),
                "--harvest",
                h,
                "--condition",
                c,
                "--task",
                t,
                "--recipe",
                recipe,
                "--out",
                str(out[t]),
                "--num-candidates",
                "5",
                *FAST,
            ]
        )
    stats = NormStats.load(stats_path)
    for t, h in zip(TASKS, hv):
        cands, harvest = ParamSet.load(out[t]), ParamSet.load(h)
        assert (
            cands.n == 5 and cands.layout == harvest.layout and cands.info["generator"] == "direct"
        )
        assert (
            cands.info["recipe"] == recipe and "sampler" not in cands.info
        )  # a recipe is not a sampler
        assert len(cands.info["condition_items"]) == 5 and all(
            len(x) == 2 for x in cands.info["condition_items"]
        )
        assert torch.equal(
            cands.params[:, ~stats.mask], harvest.params[-1:, ~stats.mask].expand(5, -1)
        )
        mean = harvest.params[:, stats.mask].mean(0)
        other = ParamSet.load(hv[1 - TASKS.index(t)]).params[:, stats.mask].mean(0)
        # each task's candidates land nearer its own checkpoints than the other task's
        assert (cands.params[:, stats.mask] - mean).norm(dim=1).max() < (
            cands.params[:, stats.mask] - other
        ).norm(dim=1).min()
    again = tmp_path / "again.safetensors"
    sample_direct.main(
        [
            "--model",
            str(model),
            "--stats",
            str(stats_path),
            "--harvest",
            hv[0],
            "--condition",
            conds[0],
            "--task",
            TASKS[0],
            "--recipe",
            recipe,
            "--out",
            str(again),
            "--num-candidates",
            "5",
            *FAST,
        ]
    )
    assert again.read_bytes() == out[TASKS[0]].read_bytes()  # same seed, same file


def test_sampling_refuses_another_recipe_or_condition(tiny_backbone, tmp_path):
    hv = harvests(tiny_backbone, tmp_path)
    sets = {t: ParamSet.load(p) for t, p in zip(TASKS, hv)}
    stats_path = tmp_path / "stats.safetensors"
    compute(sets, "task", 8, "all").save(stats_path)
    conds, model = data_conditions(tmp_path), tmp_path / "model"
    train_direct.main(
        [
            "--stats",
            str(stats_path),
            "--harvests",
            *hv,
            "--tasks",
            *TASKS,
            "--conditions",
            *conds,
            "--recipe",
            "k2-layer-w0",
            "--out-dir",
            str(model),
            "--hidden",
            "16",
            "--steps",
            "5",
            *FAST,
        ]
    )
    common = [
        "--model",
        str(model),
        "--stats",
        str(stats_path),
        "--harvest",
        hv[0],
        "--task",
        TASKS[0],
        "--out",
        str(tmp_path / "c.safetensors"),
        *FAST,
    ]
    with pytest.raises(ValueError, match="trained with recipe 'k2-layer-w0'"):
        sample_direct.main([*common, "--condition", conds[0], "--recipe", "k4-layer-w0"])
    wide = tmp_path / "wide.safetensors"
    Condition("sentence-data", torch.rand(3, 9), TASKS[0], "test", "", "set").save(wide)
    with pytest.raises(ValueError, match="width 9 do not fit"):
        sample_direct.main([*common, "--condition", str(wide), "--recipe", "k2-layer-w0"])
    assert load_condition(wide).projection == "set"
