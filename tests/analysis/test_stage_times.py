"""condpdiff.analysis.stage_times sums the rules' benchmark files per rule."""

from __future__ import annotations

import math

import pytest

from condpdiff.analysis import stage_times

HEADER = "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"


def write(path, seconds, rss):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(HEADER + f"{seconds}\t0:00:00\t{rss}\t1\t1\t1\t0\t0\t50\t1\n")


def test_sums_per_rule(tmp_path):
    write(tmp_path / "finetune_lora" / "a.tsv", 100.0, 2000)
    write(tmp_path / "finetune_lora" / "b.tsv", 50.0, 2500)
    write(tmp_path / "compute_norm_stats" / "x.tsv", 4.0, 300)
    df = stage_times.summarize(stage_times.collect(tmp_path)).set_index("rule")
    assert df.loc["finetune_lora", "jobs"] == 2
    assert df.loc["finetune_lora", "total_s"] == pytest.approx(150.0)
    assert df.loc["finetune_lora", "max_s"] == pytest.approx(100.0)
    assert df.loc["finetune_lora", "max_rss_mb"] == pytest.approx(2500)
    assert list(df.index) == ["finetune_lora", "compute_norm_stats"]  # largest total first


def test_not_a_benchmark_file_is_named(tmp_path):
    (tmp_path / "rule").mkdir()
    (tmp_path / "rule" / "bad.tsv").write_text("a\tb\n1\t2\n")
    with pytest.raises(SystemExit, match="bad.tsv"):
        stage_times.collect(tmp_path)


def test_compare_two_runs(tmp_path, capsys):
    write(tmp_path / "a" / "finetune_lora" / "t1.tsv", 100.0, 1)
    write(tmp_path / "a" / "finetune_lora" / "t2.tsv", 60.0, 1)
    write(tmp_path / "a" / "score_candidates" / "t1.tsv", 40.0, 1)
    write(tmp_path / "b" / "finetune_lora" / "t1.tsv", 50.0, 1)
    write(tmp_path / "b" / "finetune_lora" / "t2.tsv", 30.0, 1)
    write(tmp_path / "b" / "score_selected" / "t1.tsv", 2.0, 1)
    df = stage_times.compare(
        stage_times.collect(tmp_path / "a"), stage_times.collect(tmp_path / "b")
    ).set_index("rule")
    assert (
        df.loc["finetune_lora", "s_before"] == 160.0 and df.loc["finetune_lora", "s_after"] == 80.0
    )
    assert df.loc["finetune_lora", "ratio"] == pytest.approx(0.5)
    assert (
        df.loc["score_candidates", "jobs_after"] == 0 and df.loc["score_candidates", "ratio"] == 0
    )
    assert df.loc["score_selected", "s_before"] == 0 and math.isnan(
        df.loc["score_selected", "ratio"]
    )  # a new stage
    assert df.loc["total", "s_before"] == 200.0 and df.loc["total", "s_after"] == 82.0
    assert df.loc["total", "ratio"] == pytest.approx(0.41)
    assert list(df.index)[-1] == "total"
    stage_times.main([str(tmp_path / "a"), "--compare", str(tmp_path / "b")])
    assert "ratio" in capsys.readouterr().out
