"""Style folders made offline and their train / reference split: disjoint, seeded, whole groups."""

from __future__ import annotations

import json

import pytest

from condpdiff.image.styles import make_style_folder, split_style
from condpdiff.image.styles.folder import prefix_group, split_style_groups
from condpdiff.image.styles.splitfile import load_split
from condpdiff.pipeline.artifacts import ArtifactError


def _procedural(tmp_path, ops="invert", n=24):
    folder = tmp_path / "style"
    make_style_folder.main(
        ["--procedural", ops, "--n-images", str(n), "--crop", "16", "--out", str(folder)]
    )
    return folder


def test_procedural_folder_has_a_caption_per_image(tmp_path):
    folder = _procedural(tmp_path)
    captions = json.loads((folder / "captions.json").read_text())
    assert sorted(captions) == sorted(p.name for p in folder.glob("*.png")) and len(captions) == 24
    assert all(c.startswith("a ") for c in captions.values())


def test_split_file_train_and_reference_are_disjoint_and_seeded(tmp_path):
    folder = _procedural(tmp_path)
    outs = []
    for i, seed in enumerate((0, 0, 1)):
        out = tmp_path / f"split{i}.json"
        split_style.main(
            [
                "--folder",
                str(folder),
                "--style",
                "inv",
                "--n-reference",
                "8",
                "--seed",
                str(seed),
                "--out",
                str(out),
            ]
        )
        outs.append(load_split(out))
    a, b, c = outs
    assert not set(a.paths("train")) & set(a.paths("reference"))
    assert len(a.paths("reference")) == 8 and len(a.paths("train")) == 16
    assert a.paths("reference") == b.paths("reference") and a.paths("reference") != c.paths(
        "reference"
    )
    assert a.prompts == sorted(set(a.captions("train")))  # prompts come from train captions only


def test_group_split_keeps_each_group_on_one_side(tmp_path):
    files = [
        tmp_path / f"{photo}-{half}_{i:03d}.png"
        for photo in ("cat", "dog", "sky")
        for half in "LR"
        for i in range(4)
    ]
    train, reference = split_style_groups(files, 6, seed=3, group_of=prefix_group)
    assert not set(train) & set(reference) and len(train) + len(reference) == len(files)
    assert len(reference) >= 6
    groups_ref = {prefix_group(p) for p in reference}
    assert not groups_ref & {prefix_group(p) for p in train}


def test_split_without_captions_needs_a_default_caption(tmp_path):
    folder = _procedural(tmp_path)
    (folder / "captions.json").unlink()
    with pytest.raises(ValueError, match="captions.json"):
        split_style.main(
            [
                "--folder",
                str(folder),
                "--style",
                "inv",
                "--n-reference",
                "8",
                "--out",
                str(tmp_path / "s.json"),
            ]
        )
    split_style.main(
        [
            "--folder",
            str(folder),
            "--style",
            "inv",
            "--n-reference",
            "8",
            "--default-caption",
            "a shape",
            "--out",
            str(tmp_path / "s.json"),
        ]
    )
    assert load_split(tmp_path / "s.json").prompts == ["a shape"]


def test_a_foreign_split_file_is_refused(tmp_path):
    bad = tmp_path / "split.json"
    bad.write_text(json.dumps({"format": "something-else", "style": "x"}))
    with pytest.raises(ArtifactError, match="split"):
        load_split(bad)
