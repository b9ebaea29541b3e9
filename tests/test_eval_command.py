"""The evaluation command measures through the live chat API and reports per language and style."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import settings
from knowledge.eval import load_questions

FIXTURE = Path(__file__).parent / "fixtures" / "eval-mini.jsonl"


@pytest.mark.stack
def test_eval_on_a_small_fixture_reports_every_metric(stack, tmp_path):
    report_path = tmp_path / "report.json"
    result = subprocess.run(
        [sys.executable, "-m", "knowledge.eval", str(FIXTURE), "--url", stack.urls["web"], "--report", str(report_path),
         "--no-conversations"],
        cwd=settings.ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    report = json.loads(report_path.read_text(encoding="utf-8"))
    assert report["questions"] == 5
    en, pl = report["languages"]["en"], report["languages"]["pl"]
    assert en["questions"] == 3 and pl["questions"] == 2
    assert en["top1"] == 100.0 and en["oos_declined"] == 100.0 and en["answered"] == 100.0 and en["answered_wrong"] == 0.0
    assert pl["top1"] == 100.0 and pl["top3"] == 100.0 and pl["oos_declined"] is None
    assert set(pl["top1_by_style"]) == {"plain", "no-diacritics"}
    assert report["mistakes"] == []
    assert report["latency_ms"]["p50"] > 0
    assert "top1" in result.stdout and "latency per question" in result.stdout


@pytest.mark.parametrize("line", ["not json", '{"lang": "en", "text": "hi"}', '{"lang": "de", "text": "x", "topics": []}',
                                  '{"lang": "en", "text": 5, "topics": []}'])
def test_malformed_question_files_are_rejected_with_file_and_line(tmp_path, line):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"lang": "en", "text": "ok", "topics": []}\n' + line + "\n", encoding="utf-8")
    with pytest.raises(SystemExit, match=r"bad.jsonl:2: not a question line"):
        load_questions([path])
