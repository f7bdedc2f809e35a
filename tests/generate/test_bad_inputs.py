"""Every bad input of ``condpdiff generate`` ends with a named error and writes nothing."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from condpdiff.cli import main as cli_main
from condpdiff.generate import folder as gf
from condpdiff.generate import images


def run_fails(argv: list[str], out: Path, capsys, *needles: str) -> str:
    """Run the CLI, expect exit 2 with every needle in the one-line error, and nothing at `out`."""
    before = set(out.parent.iterdir()) if out.parent.exists() else set()
    assert cli_main([*argv, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    for needle in needles:
        assert needle in err, err
    assert not out.exists()
    assert set(out.parent.iterdir()) == before  # no temporary folder left behind
    return err


# --- image folders (no generator needed) ---


def test_empty_missing_and_small_image_folders(tmp_path):
    with pytest.raises(images.ImageInputError, match="no such folder"):
        images.image_files(tmp_path / "nope", 2)
    (tmp_path / "notes.txt").write_text("not an image")
    with pytest.raises(
        images.ImageInputError, match="no style images; expected files ending in .png"
    ):
        images.image_files(tmp_path, 2)
    from PIL import Image

    Image.new("RGB", (16, 16), (200, 10, 10)).save(tmp_path / "a.png")
    with pytest.raises(images.ImageInputError, match="too few style images .* at least 2, found 1"):
        images.image_files(tmp_path, 2)


def test_unreadable_image_is_named(tmp_path):
    from condpdiff.conditions.image_encoder import ImageEncoderConfig, ResNetFeatures

    settings = {"weights": "random", "layer": "layer1", "image_size": "16", "seed": "0"}
    enc = ResNetFeatures(ImageEncoderConfig(weights="random", layer="layer1", image_size=16))
    cfg = {
        "condition": {
            "name": "resnet18-image",
            "projection": "conv",
            "encoder": enc.name,
            "settings": settings,
        }
    }
    (tmp_path / "b.png").write_bytes(b"\x89PNG but not really")
    with pytest.raises(images.ImageInputError, match=r"b\.png: not a readable train image"):
        images.condition(cfg, [tmp_path / "b.png"], "cpu")
    with pytest.raises(images.ImageInputError, match="projection 'mlp'"):
        images.condition(
            {"condition": {**cfg["condition"], "projection": "mlp"}}, [tmp_path / "b.png"], "cpu"
        )


def test_min_images_follows_the_direct_recipe():
    assert images.min_images({"kind": "direct", "draw": "k8-layer-w0.75"}) == 8
    assert images.min_images({"kind": "pdiff", "draw": "ddim20"}) == images.MIN_IMAGES


# --- text conditions and generator folders (a trained tiny generator) ---


@pytest.mark.slow
def test_tsv_with_wrong_columns_or_labels(pdiff_text, tmp_path, capsys):
    base = ["generate", pdiff_text["folder"], "--num-labels", "2", "--description", "d"]
    bad = tmp_path / "cols.tsv"
    bad.write_text("text\tlabel\nhello\t1\n")
    run_fails(
        [*base, "--examples", str(bad)],
        tmp_path / "o",
        capsys,
        "cols.tsv:1: header ['text', 'label']",
    )
    bad.write_text("sentence\tlabel\nhello\t1\nworld\t7\n")
    run_fails(
        [*base, "--examples", str(bad)], tmp_path / "o", capsys, "cols.tsv:3", "label '7'", "0..1"
    )
    run_fails(
        [*base, "--examples", str(bad), "--num-labels", "3"],
        tmp_path / "o",
        capsys,
        "--num-labels 3: not a label set of this generator",
        "[1, 2]",
    )
    run_fails(
        ["generate", pdiff_text["folder"], "--examples", str(bad)],
        tmp_path / "o",
        capsys,
        "trained on tasks of [1, 2] labels",
        "--num-labels",
    )
    run_fails(
        [*base, "--examples", str(tmp_path / "none.tsv")],
        tmp_path / "o",
        capsys,
        "none.tsv: examples file not found",
    )
    good = tmp_path / "good.tsv"
    good.write_text("sentence\tlabel\nhello\t1\nworld\t0\n")
    run_fails(
        [*base[:-2], "--examples", str(good)],
        tmp_path / "o",
        capsys,
        "embeds the task description: give --description",
    )
    run_fails([*base, "--images", str(tmp_path)], tmp_path / "o", capsys, "takes --examples")
    run_fails(
        [*base, "--task", "nope"],
        tmp_path / "o",
        capsys,
        "--task 'nope': not a task this generator",
    )


@pytest.mark.slow
def test_generator_for_another_backbone_or_rank(pdiff_text, text_material, tmp_path, capsys):
    from condpdiff.text.build_tiny_backbone import TinyBertConfig, build

    other = tmp_path / "wide"
    build(str(other), TinyBertConfig(hidden_size=48))
    argv = ["generate", pdiff_text["folder"], "--examples", text_material["examples"]]
    run_fails(
        [*argv, *"--num-labels 2 --description d --base".split(), str(other)],
        tmp_path / "o",
        capsys,
        "differs from the generator's",
        "another backbone or rank",
    )


def corrupt_copy(src: str, tmp_path: Path) -> Path:
    dst = tmp_path / "gen"
    shutil.copytree(src, dst)
    return dst


@pytest.mark.slow
@pytest.mark.parametrize(
    "damage, needles",
    [
        ("missing", ["stats.safetensors: incomplete generator folder", "no such file"]),
        (
            "changed",
            ["direct/model.safetensors: corrupt generator folder (the file changed after export)"],
        ),
        ("truncated", ["networks/direct/model.safetensors", "export it again"]),
        ("json", ["config.json: unreadable generator config", "JSONDecodeError"]),
        ("version", ["unknown format version", "'condpdiff-generator/99'"]),
        ("keys", ["incomplete generator config", "no ['files']"]),
        ("nofolder", ["not a generator folder", "no such folder"]),
    ],
)
def test_corrupt_or_incomplete_generator_folder(
    damage, needles, direct_text, text_material, tmp_path, capsys
):
    gen = corrupt_copy(direct_text["folder"], tmp_path)
    cfg_path = gen / gf.CONFIG
    cfg = json.loads(cfg_path.read_text())
    weights = gen / "networks" / "direct" / "model.safetensors"
    if damage == "missing":
        (gen / gf.STATS).unlink()
    elif damage == "changed":
        weights.write_bytes(weights.read_bytes()[:-4] + b"\0\0\0\0")
    elif damage == "truncated":  # a file that does not load, its digest updated as if exported so
        weights.write_bytes(weights.read_bytes()[:100])
        cfg["files"]["networks/direct/model.safetensors"] = gf.sha256_file(weights)
        cfg_path.write_text(json.dumps(cfg))
    elif damage == "json":
        cfg_path.write_text(cfg_path.read_text()[:50])
    elif damage == "version":
        cfg_path.write_text(json.dumps({**cfg, "format": "condpdiff-generator/99"}))
    elif damage == "keys":
        cfg.pop("files")
        cfg_path.write_text(json.dumps(cfg))
    else:
        shutil.rmtree(gen)
    run_fails(
        ["generate", str(gen), "--examples", text_material["examples"], "--num-labels", "2"],
        tmp_path / "out",
        capsys,
        *needles,
    )


def test_onehot_generator_needs_a_training_task(tmp_path):
    """A one-hot condition cannot describe a new task:
    a named error unless --task names a trained one."""
    from condpdiff.generate import text
    from condpdiff.text.tasks import Task

    gen = gf.Generator(
        tmp_path,
        {"condition": {"name": "onehot", "encoder": "onehot:2", "projection": "mlp"}},
        {},
        type("S", (), {"tasks": ["a", "b"]})(),
        {},
    )
    with pytest.raises(
        text.ConditionInputError, match="one-hot of its training tasks .* --task NAME"
    ):
        text.condition(gen, Task("new", 2, "accuracy", "d"), None, None, "cpu")
