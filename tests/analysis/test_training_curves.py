"""condpdiff.analysis.training_curves draws the autoencoder's and the diffusion model's
curve.csv."""

from __future__ import annotations

import pandas as pd
import pytest

from condpdiff.analysis import training_curves as tc


def write(path, losses):
    rows = ["step,loss,lr"] + [
        f"{i + 1},{v},{0.001 * (1 - i / len(losses))}" for i, v in enumerate(losses)
    ]
    path.write_text("\n".join(rows) + "\n")
    return str(path)


def test_smoothing_is_a_trailing_mean():
    assert tc.smooth(pd.Series([4.0, 2.0, 6.0, 8.0]), 2).tolist() == [4.0, 3.0, 4.0, 7.0]
    with pytest.raises(ValueError, match=">= 1 step"):
        tc.smooth(pd.Series([1.0]), 0)


def test_cli_writes_both_curves(tmp_path):
    ae, diff = (
        write(tmp_path / "ae.csv", [1.0, 0.5, 0.25]),
        write(tmp_path / "diff.csv", [2.0, 1.0, 0.5, 0.5]),
    )
    out, data = tmp_path / "c.png", tmp_path / "c.csv"
    tc.main(
        [
            "--autoencoder",
            ae,
            "--diffusion",
            diff,
            "--smoothing",
            "2",
            "--setting",
            "tiny r1",
            "--out",
            str(out),
            "--data",
            str(data),
        ]
    )
    df = pd.read_csv(data)
    assert list(df.columns) == ["model", "step", "loss", "loss_smooth", "lr"]
    assert df.groupby("model").size().to_dict() == {
        "latent diffusion": 4,
        "parameter autoencoder": 3,
    }
    assert df[df.model == "parameter autoencoder"].loss_smooth.tolist() == pytest.approx(
        [1.0, 0.75, 0.375]
    )
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("text, match", [
    ("step,loss\n1,0.5\n", "without its columns"),
    ("step,loss,lr\n", "empty training curve"),
    ("step,loss,lr\n1,0.5,0.1\n2,0,0.1\n", "loss 0.0 at step 2"),
])  # fmt: skip
def test_bad_curves_name_the_file(tmp_path, text, match):
    path = tmp_path / "curve.csv"
    path.write_text(text)
    with pytest.raises(ValueError, match=match) as err:
        tc.read_curve(path)
    assert str(path) in str(err.value)
    with pytest.raises(FileNotFoundError, match="training curve not found"):
        tc.read_curve(tmp_path / "missing.csv")
