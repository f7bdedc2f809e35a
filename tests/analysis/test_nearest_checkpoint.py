"""condpdiff.analysis.nearest_checkpoint: each candidate's distance to its nearest checkpoint beside
its score."""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest
import torch

from condpdiff.analysis import nearest_checkpoint as nc
from condpdiff.params.paramfile import ParamSet
from condpdiff.pipeline.artifacts import SCORES_FORMAT

LAYOUT = [("w", (2,))]


def test_nearest_spread_and_spacing_by_hand():
    ckpts = torch.tensor([[0.0, 0.0], [1.0, 0.0], [3.0, 0.0]])
    dist, idx = nc.nearest(torch.tensor([[0.9, 0.0], [3.0, 4.0]]), ckpts)
    assert dist.tolist() == pytest.approx([0.1, 4.0]) and idx.tolist() == [1, 2]
    # mean (4/3, 0): squared distances 16/9, 1/9, 25/9 -> RMS sqrt(14/9)
    assert nc.spread(ckpts) == pytest.approx(math.sqrt(14 / 9))
    assert nc.spacing(ckpts) == pytest.approx(1.0)  # nearest other checkpoint: 1, 1, 2
    assert math.isnan(nc.spacing(ckpts[:1]))


def save(path, rows, steps, task="t"):
    ParamSet(
        torch.tensor(rows, dtype=torch.float32),
        LAYOUT,
        torch.tensor(steps),
        torch.zeros(len(rows)),
        info={"task": task},
    ).save(path)
    return str(path)


def cache(path, steps, scores, metric="accuracy", higher=True):
    path.write_text(
        json.dumps(
            {
                "format": SCORES_FORMAT,
                "metric": metric,
                "higher_is_better": higher,
                "steps": steps,
                "scores": {"dev": [{"score": s} for s in scores]},
            }
        )
    )
    return str(path)


def files(tmp_path):
    # 4 harvested rows; n=3 keeps steps 11..13 at x = 0, 1, 2 (and drops step 10 at x = 50)
    h = save(tmp_path / "h.safetensors", [[50, 0], [0, 0], [1, 0], [2, 0]], [10, 11, 12, 13])
    c = save(tmp_path / "c.safetensors", [[0, 0.5], [2, 2], [1, 0.1]], [0, 1, 2])
    hs = cache(
        tmp_path / "harvest_scores.json", [10, 12, 13], [0.0, 70.0, 80.0]
    )  # every other row scored
    return h, c, hs


def run(tmp_path, h, c, hs, *extra, domain="text"):
    out = {k: str(tmp_path / f"near.{k}") for k in ("png", "csv", "json")}
    nc.main(
        [
            "--domain",
            domain,
            "--tasks",
            "t",
            "--harvests",
            h,
            "--candidates",
            c,
            "--harvest-scores",
            hs,
            "--n",
            "3",
            "--setting",
            "s",
            "--out",
            out["png"],
            "--data",
            out["csv"],
            "--summary",
            out["json"],
            *extra,
        ]
    )
    return pd.read_csv(out["csv"]), json.loads(open(out["json"]).read())


def test_text_distances_scores_and_summary(tmp_path):
    h, c, hs = files(tmp_path)
    scores = cache(
        tmp_path / "candidate_scores.json", [2, 0, 1], [75.0, 60.0, 50.0]
    )  # rows in another order
    df, summary = run(tmp_path, h, c, hs, "--scores", scores)
    assert df.nearest_l2.tolist() == pytest.approx([0.5, 2.0, 0.1])
    assert df.nearest_step.tolist() == [11, 13, 12]
    assert df.dev.tolist() == [60.0, 50.0, 75.0]  # matched to candidate rows by step
    s = summary["tasks"]["t"]
    assert s["harvest_mean_score"] == pytest.approx(
        75.0
    )  # steps 12, 13: step 10 is not among the last n=3
    assert s["spread"] == pytest.approx(math.sqrt(2 / 3)) and s[
        "median_nearest_l2"
    ] == pytest.approx(0.5)
    assert df.nearest_rel_spread.tolist() == pytest.approx((df.nearest_l2 / s["spread"]).tolist())
    assert s["spearman_l2_vs_dev"] == pytest.approx(
        -1.0
    )  # farther = worse, strictly and s["metric"] == "accuracy"
    assert (tmp_path / "near.png").stat().st_size > 0


def test_text_scores_must_cover_every_candidate(tmp_path):
    h, c, hs = files(tmp_path)
    scores = cache(tmp_path / "candidate_scores.json", [0, 1], [60.0, 50.0])
    with pytest.raises(
        ValueError, match=r"dev scores of only some candidates.*none for rows \[2\]"
    ):
        run(tmp_path, h, c, hs, "--scores", scores)
    assert not (tmp_path / "near.csv").exists()
    with pytest.raises(SystemExit):  # image needs features, reference and train files
        run(tmp_path, h, c, hs, "--scores", scores, domain="image")


def features(path, feats, kind, rows=None):
    from condpdiff.image.fid.features import FeatureSet

    info = {
        "kind": kind,
        "extractor": "x",
        "feature_layer": "f",
        "resolution": 8,
        "n_images": feats.shape[1],
        "rows": rows if rows is not None else list(range(feats.shape[0])),
        "steps": [0] * feats.shape[0],
    }
    if kind == "real":
        info["part"] = "reference"
    FeatureSet(feats, info).save(path)
    return str(path)


def test_image_fid_against_reference_and_train(tmp_path):
    pytest.importorskip("torch_fidelity")
    from condpdiff.image.fid.features import fid_between

    h, c, hs = files(tmp_path)
    g = torch.Generator().manual_seed(0)
    gen = torch.randn(3, 40, 4, generator=g) + torch.tensor([0.0, 1.0, 3.0])[:, None, None]
    ref, train = torch.randn(1, 40, 4, generator=g), torch.randn(1, 40, 4, generator=g) + 0.5
    f = features(
        tmp_path / "gen.safetensors", gen.flip(0), "generated", rows=[2, 1, 0]
    )  # rows stored reversed
    r, t = (
        features(tmp_path / "ref.safetensors", ref, "real"),
        features(tmp_path / "train.safetensors", train, "real"),
    )
    fid_cache = cache(
        tmp_path / "harvest_fid.json", [12, 13], [3.0, 5.0], metric="fid", higher=False
    )
    df, summary = run(
        tmp_path, h, c, fid_cache, "--features", f, "--reference", r, "--train", t, domain="image"
    )
    for i in range(3):
        assert df.fid_reference[i] == pytest.approx(fid_between(gen[i], ref[0]))
        assert df.fid_train[i] == pytest.approx(fid_between(gen[i], train[0]))
    assert (
        df.fid_reference[0] < df.fid_reference[2]
    )  # row 0 sits on the reference images, row 2 three units off
    s = summary["tasks"]["t"]
    assert s["harvest_mean_score"] == pytest.approx(4.0) and s["higher_is_better"] is False
    assert "spearman_l2_vs_fid_reference" in s
