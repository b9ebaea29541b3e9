"""Measure how well the assistant understands questions, through the same path as the live bot.

    python -m knowledge.eval [FILES ...] [--url http://127.0.0.1:8000] [--report var/eval/report.json]

Each line of a FILE is JSON: {"id", "lang", "text", "topics": [expected topic ids; [] = out of
scope], "style"}. Every question is sent as a new conversation to POST /api/chat (web → Rasa →
action server → retrieval), so the figures are the bot's, not a shortcut's. Without --url the
command starts its own stack on free ports (prepared and trained like `make run`).

Per language it prints: top-1 and top-3 (the expected topic first / among the first three
candidates), the share of in-scope questions answered (not declined or asked back), answered with
the right and with a WRONG topic, the share of out-of-scope questions declined, and top-1 per
question style; beside them the cross-validated figures of the last `make calibrate`
(var/eval/crossval.json: the knowledge base's own held-out examples), and the share of turns
handled in the scripted conversations of tests/conversations/ (--no-conversations skips them).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import statistics
import sys
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests
from tqdm import tqdm

import settings

DEFAULT_FILES = sorted((settings.ROOT.parent / "shared" / "eval").glob("dev-*.jsonl"))


def load_questions(paths: list[Path]) -> list[dict]:
    rows = []
    for path in paths:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                assert isinstance(row["text"], str) and isinstance(row["topics"], list) and row["lang"] in settings.LANGUAGES
            except (ValueError, KeyError, AssertionError, TypeError) as exc:
                raise SystemExit(f"{path}:{number}: not a question line ({exc.__class__.__name__})") from exc
            row.setdefault("style", "plain")
            row.setdefault("id", f"{path.stem}-{number}")
            rows.append(row)
    return rows


def ask(base_url: str, row: dict, ui_lang: bool) -> dict:
    body = {"message": row["text"]}
    if ui_lang:
        body["lang"] = row["lang"]
    started = time.perf_counter()
    response = requests.post(base_url + "/api/chat", json=body, timeout=60)
    elapsed = time.perf_counter() - started
    if response.status_code != 200:
        return {"error": f"HTTP {response.status_code}", "ms": elapsed * 1000}
    first = response.json()["messages"][0]
    return {"topic": first.get("topic"), "candidates": first.get("candidates") or [], "lang": first.get("lang"),
            "decision": first.get("decision"), "ms": elapsed * 1000}


def _share(items, ok) -> float | None:
    return round(100 * sum(1 for r, res in items if ok(r, res)) / len(items), 1) if items else None


def _top1(r: dict, res: dict) -> bool:
    return bool(res.get("candidates")) and res["candidates"][0] in r["topics"]


def _metrics(pairs: list[tuple[dict, dict]]) -> dict:
    inscope = [(r, res) for r, res in pairs if r["topics"]]
    oos = [(r, res) for r, res in pairs if not r["topics"]]
    return {
        "questions": len(pairs),
        "top1": _share(inscope, _top1),
        "top3": _share(inscope, lambda r, res: any(t in r["topics"] for t in res.get("candidates", [])[:3])),
        "answered": _share(inscope, lambda r, res: res.get("topic") is not None),
        "answered_correct": _share(inscope, lambda r, res: res.get("topic") in r["topics"]),
        "answered_wrong": _share(inscope, lambda r, res: res.get("topic") is not None and res.get("topic") not in r["topics"]),
        "oos_declined": _share(oos, lambda r, res: res.get("topic") is None and "error" not in res),
        "reply_language_ok": _share(pairs, lambda r, res: res.get("lang") == r["lang"]),
        "errors": sum(1 for _, res in pairs if "error" in res),
    }


def score(rows: list[dict], results: list[dict]) -> dict:
    per_lang: dict[str, dict] = {}
    for lang in sorted({r["lang"] for r in rows}, key=settings.LANGUAGES.index):
        pairs = [(r, res) for r, res in zip(rows, results, strict=True) if r["lang"] == lang]
        styles = defaultdict(list)
        for r, res in pairs:
            if r["topics"]:
                styles[r["style"]].append((r, res))
        per_lang[lang] = {**_metrics(pairs), "top1_by_style": {s: _share(items, _top1) for s, items in sorted(styles.items())}}
    return per_lang


def score_by_style(rows: list[dict], results: list[dict]) -> dict:
    """The same figures per question style, all languages together (out-of-scope questions have
    a style too)."""
    by_style = defaultdict(list)
    for r, res in zip(rows, results, strict=True):
        by_style[r["style"]].append((r, res))
    return {style: _metrics(pairs) for style, pairs in sorted(by_style.items())}


def decisions_digest(results: list[dict], turns: list) -> str:
    """A fingerprint of what the bot decided for every question and conversation turn (not of
    timings): two trainings from the same inputs must give the same digest."""
    decided = [[r.get("decision"), r.get("topic"), r.get("candidates"), r.get("lang")] for r in results]
    return hashlib.sha256(json.dumps([decided, turns], sort_keys=True).encode()).hexdigest()[:16]


def print_table(report: dict) -> None:
    cols = ["top1", "top3", "answered", "answered_correct", "answered_wrong", "oos_declined", "reply_language_ok"]
    crossval = report.get("crossval") or {}
    print(f"\n{'lang':5} {'n':>4} " + " ".join(f"{c:>17}" for c in cols) + "   (dev set, through the live stack)")
    for lang, m in report["languages"].items():
        print(f"{lang:5} {m['questions']:>4} " + " ".join(f"{'-' if m[c] is None else m[c]:>17}" for c in cols))
        cv = crossval.get(lang)
        if cv:
            print(f"{'  cv':5} {cv['questions']:>4} " + " ".join(f"{cv.get(c, '-'):>17}" for c in cols))
    if crossval:
        print("  cv = cross-validated on the knowledge base's own held-out examples (make calibrate), not the dev set")
    styles = sorted({s for m in report["languages"].values() for s in m["top1_by_style"]})
    print(f"\ntop-1 by style\n{'lang':5} " + " ".join(f"{s:>14}" for s in styles))
    for lang, m in report["languages"].items():
        print(f"{lang:5} " + " ".join(f"{m['top1_by_style'].get(s, '-'):>14}" for s in styles))
    cols = ["top1", "top3", "answered", "answered_wrong", "oos_declined"]
    print(f"\nby style, all languages (dev set)\n{'style':14} {'n':>4} " + " ".join(f"{c:>15}" for c in cols))
    for style, m in report.get("styles", {}).items():
        print(f"{style:14} {m['questions']:>4} " + " ".join(f"{'-' if m[c] is None else m[c]:>15}" for c in cols))
    cv_styles = report.get("crossval_styles") or {}
    if cv_styles:
        print(f"\nby style, all languages (cross-validated)\n{'style':14} {'n':>5} " + " ".join(f"{c:>15}" for c in cols))
        for style, m in cv_styles.items():
            print(f"{style:14} {m['questions']:>5} " + " ".join(f"{m.get(c, '-'):>15}" for c in cols))
    turns = report.get("conversations")
    if turns:
        print(f"\nscripted conversations (tests/conversations/)\n{'lang':5} {'conv':>5} {'turns':>6} {'handled':>8} {'112 when in danger':>19} "
              f"{'no 112 otherwise':>17} {'handoff started':>16}")
        for lang, m in turns.items():
            print(f"{lang:5} {m['conversations']:>5} {m['turns']:>6} {m['handled']:>8} {m['emergency_112'] or '-':>19} "
                  f"{m['no_112_when_not_asked'] or '-':>17} {m['handoff_started'] or '-':>16}")
    lat = report["latency_ms"]
    print(f"\nlatency per question (ms): p50 {lat['p50']}, p95 {lat['p95']} ({report['questions']} questions, {report['concurrency']} at a time)")
    print(f"decisions digest: {report['decisions_digest']} (the same inputs give the same digest, whatever the training run)")


def crossval_figures(key: str = "languages") -> dict:
    from knowledge.calibrate import CROSSVAL_REPORT

    try:
        return json.loads(CROSSVAL_REPORT.read_text(encoding="utf-8"))[key]
    except (OSError, ValueError, KeyError):
        return {}


def conversation_figures(url: str) -> tuple[dict, list[dict]]:
    from knowledge import conversations

    results = []
    for conv in tqdm(conversations.load(), desc="conversations", unit="conv"):
        results += conversations.replay(url, conv)
    failures = [{"lang": r.lang, "conversation": r.conversation, "turn": r.index + 1, "user": r.user, "failures": r.failures}
                for r in results if not r.ok]
    outcomes = [[r.lang, r.conversation, r.index, r.ok] for r in results]
    return conversations.summary(results), failures, outcomes


def run(paths: list[Path], url: str | None, report_path: Path, ui_lang: bool, concurrency: int, with_conversations: bool = True) -> dict:
    rows = load_questions(paths)
    stack = None
    if url is None:
        from scripts.stack import Stack, free_port, prepare

        model = prepare()
        stack = Stack(web_port=free_port(), rasa_port=free_port(), actions_port=free_port(),
                      extra_env={"MOVE_TRACKER_DB": str(settings.VAR_DIR / "eval-tracker.db"),
                                 # hundreds of questions from one address: the chat rate limits are for the public
                                 "MOVE_CHAT_RATE_LIMIT_IP": "off", "MOVE_CHAT_RATE_LIMIT_SESSION": "off"})
        stack.start(model)
        stack.wait_healthy()
        url = stack.urls["web"]
    try:
        with ThreadPoolExecutor(max_workers=concurrency) as pool:
            results = list(tqdm(pool.map(lambda r: ask(url, r, ui_lang), rows), total=len(rows), desc="questions", unit="q"))
        turns, turn_failures, turn_outcomes = conversation_figures(url) if with_conversations else ({}, [], [])
    finally:
        if stack:
            stack.stop()
    latencies = sorted(r["ms"] for r in results)
    report = {
        "files": [str(p) for p in paths],
        "questions": len(rows),
        "ui_lang_sent": ui_lang,
        "concurrency": concurrency,
        "languages": score(rows, results),
        "styles": score_by_style(rows, results),
        "crossval": crossval_figures(),
        "crossval_styles": crossval_figures("styles"),
        "decisions_digest": decisions_digest(results, turn_outcomes),
        "conversations": turns,
        "conversation_failures": turn_failures,
        "latency_ms": {"p50": round(statistics.median(latencies), 1),
                       "p95": round(latencies[int(0.95 * (len(latencies) - 1))], 1)},
        "mistakes": [
            {"id": r["id"], "lang": r["lang"], "style": r["style"], "text": r["text"], "expected": r["topics"],
             "got": res.get("topic"), "candidates": res.get("candidates"), "decision": res.get("decision")}
            for r, res in zip(rows, results, strict=True)
            if (r["topics"] and res.get("topic") not in r["topics"]) or (not r["topics"] and res.get("topic") is not None)
        ],
    }
    report_path.parent.mkdir(parents=True, exist_ok=True)
    report_path.write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m knowledge.eval", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("files", nargs="*", type=Path, help="question files (default: shared/eval/dev-*.jsonl)")
    parser.add_argument("--url", help="a running web app (default: start a stack)")
    parser.add_argument("--report", type=Path, default=settings.VAR_DIR / "eval" / "report.json")
    parser.add_argument("--ui-lang", action="store_true", help="send each question's language as the widget's UI language")
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--no-conversations", action="store_true", help="skip the scripted conversations")
    args = parser.parse_args(argv)
    files = args.files or DEFAULT_FILES
    if not files:
        parser.error("no question files given and shared/eval/ not found")
    report = run(files, args.url, args.report, args.ui_lang, args.concurrency, not args.no_conversations)
    print_table(report)
    print(f"\nreport: {args.report}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
