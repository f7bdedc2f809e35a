"""The shared image command-line flags (condpdiff.image.args)."""

from __future__ import annotations

import argparse

import pytest

from condpdiff.image.args import add_base_style_args, add_extractor_args

FLAGS = ["--base", "b", "--prompts", "p.safetensors", "--split", "s.json"]
FLAGS += ["--rank", "2", "--alpha", "8"]


def parser(**kwargs) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(exit_on_error=False)
    add_base_style_args(p, **kwargs)
    return p


def test_base_style_flags_parse_with_types():
    a = parser().parse_args(FLAGS)
    assert (a.base, a.prompts, a.split, a.rank, a.alpha) == ("b", "p.safetensors", "s.json", 2, 8)


@pytest.mark.parametrize("missing", ["--base", "--prompts", "--split", "--rank", "--alpha"])
def test_each_base_style_flag_is_required(missing, capsys):
    i = FLAGS.index(missing)
    with pytest.raises(SystemExit):
        parser().parse_args(FLAGS[:i] + FLAGS[i + 2 :])
    assert missing in capsys.readouterr().err


def test_lora_optional_for_a_base_alone_step():
    a = parser(lora_required=False).parse_args(FLAGS[:6])
    assert a.rank is None and a.alpha is None


def test_extractor_required_unless_defaulted(capsys):
    p = argparse.ArgumentParser()
    add_extractor_args(p)
    with pytest.raises(SystemExit):
        p.parse_args([])
    assert "--extractor" in capsys.readouterr().err
    a = p.parse_args(["--extractor", "x", "--weights-path", "w.pt"])
    assert (a.extractor, a.weights_path) == ("x", "w.pt") and not hasattr(a, "feature_layer")

    q = argparse.ArgumentParser()
    add_extractor_args(q, default="inception-v3-compat", feature_layer=True)
    a = q.parse_args([])
    assert (a.extractor, a.weights_path, a.feature_layer) == ("inception-v3-compat", None, None)
