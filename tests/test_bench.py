"""`make bench` (scripts/bench.py) in its tiny mode against the real stack: it must send every turn
through each path without errors and write a complete report. No timing is asserted."""

from __future__ import annotations

import json

import numpy as np
import pytest

from scripts import bench


def test_percentiles_match_numpy():
    values = [float(v) for v in np.random.default_rng(1).exponential(100, size=257)]
    for p in (50, 95, 99):
        assert bench.percentile(values, p) == pytest.approx(np.percentile(values, p))


def test_quick_bench_measures_all_paths_and_writes_a_report(stack, tmp_path, capsys):
    report_path = tmp_path / "report.json"
    plan = bench.Plan.quick()

    returned = bench.run(report_path, plan, retrain=False, index=False, stack=stack)

    report = json.loads(report_path.read_text(encoding="utf-8"))
    assert report == json.loads(json.dumps(returned, ensure_ascii=False))
    assert set(report["latency"]) == {"full", "rasa_direct", "baseline"}
    for path, levels in report["latency"].items():
        assert set(levels) == {str(level) for level in plan.levels}, path
        for level, result in levels.items():
            assert result["errors"] == 0, (path, level, result["error_examples"])
            assert result["n"] == plan.turns[int(level)], (path, level)
            assert 0 < result["p50_ms"] <= result["p95_ms"] <= result["p99_ms"] <= result["max_ms"]
            assert result["turns_per_s"] > 0
    for level in map(str, plan.levels):
        assert report["ratios"][level]["full_over_baseline_p50"] > 0
        assert report["ratios"][level]["throughput_full_over_baseline"] > 0
    # latency phases pause between turns (but the sequential one); saturation phases never pause
    assert [report["latency"]["full"][str(level)]["think_s"] for level in plan.levels] == [
        0.0 if level == 1 else plan.think_s for level in plan.levels]
    for path, levels in report["saturation"].items():
        assert set(levels) == {str(level) for level in plan.saturation_levels}, path
        for result in levels.values():
            assert result["errors"] == 0 and result["n"] == plan.saturation_turns and result["think_s"] == 0.0
    assert report["saturation_ratios"][str(plan.saturation_levels[0])]["throughput_full_over_baseline"] > 0

    for path in ("full", "baseline"):
        long = report["long_conversation"][path]
        assert long["turns"] == plan.long_turns and long["errors"] == 0
        assert len(long["blocks"]) == plan.long_turns // plan.long_block
        assert long["slope_ms_per_turn"] is not None

    assistant = report["memory_after_load"]["assistant"]
    for name in ("web", "rasa", "actions"):
        assert assistant[name]["rss_mb"] > 0 and assistant[name]["processes"] >= 1
    assert assistant["web"]["processes"] >= 2  # gunicorn's master and its worker are both counted
    assert assistant["total"]["rss_mb"] == sum(assistant[n]["rss_mb"] for n in ("web", "rasa", "actions"))
    assert report["memory_after_load"]["baseline"]["baseline_rasa"]["rss_mb"] > 0
    assert report["startup"]["baseline_healthy_s"] > 0
    assert report["retrain"] is None and report["index_build"] is None
    assert set(report["target_check"]) >= {"p50_ms_at_10", "turns_per_s_saturated", "healthy_s", "total_rss_mb"}

    printed = capsys.readouterr().out
    assert "full/baseline" in printed and "targets (not asserted)" in printed
    assert "saturation: conversations that never pause" in printed
