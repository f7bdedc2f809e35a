"""The generator's steps on bad inputs: a diverged training run and a bad condition or model folder
stop with an error naming the step or file, and no model folder is written."""

from __future__ import annotations

import json
import re

import pytest
import torch

from condpdiff.conditions.condition import Condition, load_condition
from condpdiff.generator.modelio import save_model
from condpdiff.generator.pdiff import autoencoder, train_autoencoder, train_diffusion
from condpdiff.generator.pdiff.autoencoder import AutoencoderConfig, ParamAutoencoder
from condpdiff.params.norm_stats import compute
from condpdiff.params.paramfile import ParamSet
from condpdiff.pipeline.artifacts import ArtifactError, NonFiniteError

TASKS = ["sst2", "rte"]
LAYOUT = [
    (f"m.layer.{i}.q.lora_{ab}.weight", shape)
    for i in range(2)
    for ab, shape in (("A", (2, 40)), ("B", (40, 2)))
]
K = 320
AE_NET = AutoencoderConfig(channels=(8, 16), kernel=5, stride=4, latent_channels=2, latent_length=8)
AE_FLAGS = ["--channels", "8", "16", "--latent-length", "8", "--threads", "1", "--device", "cpu"]
DIFF_FLAGS = [
    "--channels",
    "8",
    "16",
    "--emb-dim",
    "16",
    "--bottom-hidden",
    "16",
    "--threads",
    "1",
    "--device",
    "cpu",
]


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    """Two tasks' harvests, their stats, one-hot condition files and an
    (untrained) autoencoder folder."""
    root = tmp_path_factory.mktemp("generator_inputs")
    g = torch.Generator().manual_seed(0)
    harvests, sets, conds = [], {}, []
    for i, task in enumerate(TASKS):
        sets[task] = ParamSet(
            (1.0 if i else -1.0) + 0.1 * torch.randn(8, K, generator=g),
            LAYOUT,
            torch.arange(8),
            torch.rand(8, generator=g),
            {},
            {"backbone": "tiny", "rank": 2, "task": task},
        )
        harvests.append(str(root / f"{task}.harvest.safetensors"))
        sets[task].save(harvests[-1])
        conds.append(str(root / f"{task}.cond.safetensors"))
        Condition("onehot", torch.eye(2)[i], task, "onehot:2", " ".join(TASKS), "mlp").save(
            conds[-1]
        )
    stats = root / "stats.safetensors"
    compute(sets, "task", 8).save(stats)
    ae = root / "autoencoder"
    torch.manual_seed(0)
    save_model(ae, ParamAutoencoder(AE_NET, K).eval(), autoencoder.KIND)
    return {
        "root": root,
        "harvests": harvests,
        "stats": str(stats),
        "conditions": conds,
        "autoencoder": ae,
    }


def diffusion_cli(inputs, out_dir, autoencoder_dir=None, conditions=None, *flags):
    train_diffusion.main(
        [
            "--autoencoder",
            str(autoencoder_dir or inputs["autoencoder"]),
            "--stats",
            inputs["stats"],
            "--harvests",
            *inputs["harvests"],
            "--tasks",
            *TASKS,
            "--conditions",
            *(conditions or inputs["conditions"]),
            "--out-dir",
            str(out_dir),
            *DIFF_FLAGS,
            *flags,
        ]
    )


def test_diverged_autoencoder_training_writes_nothing(inputs, tmp_path, assert_not_written):
    out = tmp_path / "autoencoder"
    with pytest.raises(NonFiniteError) as e:
        train_autoencoder.main(
            [
                "--stats",
                inputs["stats"],
                "--harvests",
                *inputs["harvests"],
                "--tasks",
                *TASKS,
                "--out-dir",
                str(out),
                "--report",
                str(out / "report.json"),
                "--recon-dir",
                str(tmp_path / "recon"),
                *AE_FLAGS,
                "--steps",
                "60",
                "--lr",
                "1e12",
            ]
        )
    msg = str(e.value)
    print(msg)
    assert re.match(
        r"autoencoder: loss is (nan|inf|-inf) at step \d+: training diverged; nothing was written",
        msg,
    )
    assert "Likely cause: autoencoder.lr = 1000000000000.0 is too large" in msg
    assert_not_written(out, tmp_path / "recon")
    assert list(tmp_path.iterdir()) == []


def test_diverged_diffusion_training_writes_nothing(inputs, tmp_path, assert_not_written):
    out = tmp_path / "diffusion"
    with pytest.raises(NonFiniteError) as e:
        diffusion_cli(inputs, out, None, None, "--steps", "60", "--lr", "1e12")
    msg = str(e.value)
    print(msg)
    assert re.match(
        r"diffusion: loss is (nan|inf|-inf) at step \d+: training diverged; nothing was written",
        msg,
    )
    assert "Likely cause: diffusion.lr = 1000000000000.0 is too large" in msg
    assert_not_written(out)
    assert list(tmp_path.iterdir()) == []


def test_a_divergence_between_checks_is_caught_at_the_next_check(monkeypatch):
    """The loss is checked every CHECK_EVERY steps and at the last step;
    a late divergence is still caught."""
    from condpdiff.generator import training

    monkeypatch.setattr(training, "CHECK_EVERY", 4)
    x = torch.randn(16, K)
    calls = []
    real = torch.nn.functional.mse_loss

    def loss_that_blows_up(a, b):
        calls.append(1)
        loss = real(a, b)
        return (
            loss * float("inf") if len(calls) == 6 else loss
        )  # step 6: between the checks at 4 and 8

    monkeypatch.setattr(torch.nn.functional, "mse_loss", loss_that_blows_up)
    with pytest.raises(
        NonFiniteError, match=r"autoencoder: loss is inf at step 6: .*autoencoder\.lr = 0\.001"
    ):
        train_autoencoder.train(
            x,
            AE_NET,
            train_autoencoder.AETrainConfig(steps=10, batch_size=8, lr=1e-3, device="cpu"),
        )
    assert len(calls) == 8  # stopped at the check after step 8, not at the end


def test_condition_with_a_nan_embedding(inputs, tmp_path, assert_not_written):
    bad = tmp_path / "conditions" / "rte.safetensors"
    Condition("onehot", torch.tensor([0.0, float("nan")]), "rte", "onehot:2", "", "mlp").save(bad)
    out = tmp_path / "diffusion"
    with pytest.raises(ArtifactError) as e:
        diffusion_cli(inputs, out, None, [inputs["conditions"][0], str(bad)], "--steps", "2")
    msg = str(e.value)
    print(msg)
    assert msg.startswith(
        f"{bad}: embedding holds 1 non-finite values; expected finite values; found nan at index "
        "(1,)"
    )
    assert "reruns rule encode_condition" in msg
    assert_not_written(out)
    with pytest.raises(ArtifactError, match=re.escape(f"{bad}: embedding holds 1 non-finite")):
        load_condition(bad)


def copy_folder(src, dst):
    import shutil

    shutil.copytree(src, dst)
    return dst


def test_model_folder_of_another_kind(inputs, tmp_path, assert_not_written):
    folder = copy_folder(inputs["autoencoder"], tmp_path / "models" / "autoencoder")
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**config, "kind": "diffusion"}))
    out = tmp_path / "diffusion"
    with pytest.raises(ArtifactError) as e:
        diffusion_cli(inputs, out, folder, None, "--steps", "2")
    msg = str(e.value)
    print(msg)
    assert msg.startswith(
        f"{folder / 'config.json'}: a model of another kind; expected 'autoencoder'; found "
        "'diffusion'"
    )
    assert "reruns rule train_autoencoder" in msg
    assert_not_written(out)


def test_model_weights_that_do_not_fit_the_config(inputs, tmp_path, assert_not_written):
    folder = copy_folder(inputs["autoencoder"], tmp_path / "models" / "autoencoder")
    config = json.loads((folder / "config.json").read_text())
    assert config["in_dim"] == K
    (folder / "config.json").write_text(json.dumps({**config, "in_dim": 100}))
    out = tmp_path / "diffusion"
    with pytest.raises(ArtifactError) as e:
        diffusion_cli(inputs, out, folder, None, "--steps", "2")
    msg = str(e.value)
    print(msg)
    assert msg.startswith(
        f"{folder / 'model.safetensors'}: weights do not fit the model config.json describes; found"
    )
    assert "found size mismatch for from_latent.bias" in msg  # one clean sentence: no tab, no ".."
    assert "the shape in current model is torch.Size([112]). To rebuild" in msg
    assert "reruns rule train_autoencoder" in msg
    assert_not_written(out)


def test_model_weights_with_a_missing_tensor(inputs, tmp_path):
    from safetensors.torch import load_file

    from condpdiff.generator.modelio import FORMAT
    from condpdiff.generator.pdiff.autoencoder import load_autoencoder
    from condpdiff.util.atomic import save_safetensors

    folder = copy_folder(inputs["autoencoder"], tmp_path / "autoencoder")
    state = load_file(folder / "model.safetensors")
    dropped = sorted(state)[0]
    del state[dropped]
    save_safetensors(
        folder / "model.safetensors", state, {"format": FORMAT, "kind": autoencoder.KIND}
    )
    with pytest.raises(
        ArtifactError,
        match=re.escape(f"{folder / 'model.safetensors'}: weights do not fit")
        + f".*missing \\['{dropped}'\\]",
    ):
        load_autoencoder(folder)


def test_conditions_given_in_another_tasks_order(inputs, tmp_path, assert_not_written):
    """Each condition file must be its task's: swapped ones would train on the wrong labels."""
    from condpdiff.pipeline.artifacts import ProvenanceError

    out = tmp_path / "diffusion"
    with pytest.raises(ProvenanceError) as e:
        diffusion_cli(inputs, out, None, inputs["conditions"][::-1], "--steps", "2")
    msg = str(e.value)
    print(msg)
    assert msg.startswith(
        f"{inputs['conditions'][1]}: condition file made for another task; "
        "expected task 'sst2' (what its reader expects); found task 'rte'"
    )
    assert_not_written(out)


def test_sampling_with_another_tasks_harvest(inputs, tmp_path, assert_not_written):
    """The harvest gives the candidates their head and ungenerated coordinates: the task's own."""
    from condpdiff.generator.pdiff import sample_candidates
    from condpdiff.pipeline.artifacts import ProvenanceError

    out = tmp_path / "candidates" / "rte.safetensors"
    args = [
        "--diffusion",
        str(tmp_path / "not-read"),
        "--autoencoder",
        str(inputs["autoencoder"]),
        "--stats",
        inputs["stats"],
        "--condition",
        inputs["conditions"][1],
        "--task",
        "rte",
        "--sampler",
        "ddim2",
        "--out",
        str(out),
    ]
    with pytest.raises(
        ProvenanceError,
        match=re.escape(
            f"{inputs['harvests'][0]}: parameter file made for another task; expected task 'rte' "
            "(what sample_candidates expects); found task 'sst2'"
        ),
    ):
        sample_candidates.main([*args, "--harvest", inputs["harvests"][0]])
    with pytest.raises(
        ArtifactError,
        match=re.escape(f"{inputs['stats']}: normalisation stats without task 'qnli'"),
    ):
        sample_candidates.main([*args, "--harvest", inputs["harvests"][1], "--task", "qnli"])
    assert_not_written(out)
