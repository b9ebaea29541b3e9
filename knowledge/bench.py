"""Benchmark of the understanding path, in-process (no servers): how long it takes to load the
model, build the search index from scratch, and decide one question; and how much memory it needs.

    python -m knowledge.bench [--queries N] [--report var/bench/understanding.json]

The end-to-end figures through Rasa and the web app come from `python -m knowledge.eval`
(latency per question) and `make bench`.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import settings
from knowledge import langid
from knowledge.decide import DecisionConfig, decide
from knowledge.eval import DEFAULT_FILES, load_questions
from knowledge.loader import load_knowledge
from knowledge.retrieval import Embedder, Retriever


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m knowledge.bench", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--report", type=Path, default=settings.VAR_DIR / "bench" / "understanding.json")
    args = parser.parse_args(argv)

    rss_start = rss_mb()
    t = time.perf_counter()
    kb, _ = load_knowledge(settings.KNOWLEDGE_DIR, settings.TOPICS_CONTRACT)
    load_kb_s = time.perf_counter() - t
    t = time.perf_counter()
    embedder = Embedder(settings.EMBEDDING_MODEL)
    load_model_s = time.perf_counter() - t
    with tempfile.TemporaryDirectory() as empty:
        t = time.perf_counter()
        retriever = Retriever(kb, embedder, Path(empty), progress=True)
        build_s = time.perf_counter() - t
    langid.detect("warm up the detector")
    cfg = DecisionConfig.load()
    files = [p for p in DEFAULT_FILES if p.exists()] or [Path(__file__).parents[1] / "tests" / "fixtures" / "eval-mini.jsonl"]
    questions = [r["text"] for r in load_questions(files)]
    questions = (questions * (args.queries // max(1, len(questions)) + 1))[: args.queries]
    timings = []
    for text in questions:
        t = time.perf_counter()
        lang = langid.choose_language(text, None, None)
        decide(retriever.rank(text, lang), cfg, words=len(text.split()))
        timings.append((time.perf_counter() - t) * 1000)
    report = {
        "knowledge_load_s": round(load_kb_s, 2),
        "model_load_s": round(load_model_s, 2),
        "index_build_s": round(build_s, 1),
        "index_texts": len(retriever.docs),
        "query_ms": {"p50": round(statistics.median(timings), 1), "p95": round(percentile(timings, 95), 1),
                     "max": round(max(timings), 1), "n": len(timings)},
        "rss_mb": {"start": round(rss_start), "loaded": round(rss_mb())},
        "torch_threads": settings.TORCH_THREADS,
    }
    args.report.parent.mkdir(parents=True, exist_ok=True)
    args.report.write_text(json.dumps(report, indent=2), encoding="utf-8")
    print(json.dumps(report, indent=2))
    print(f"report: {args.report}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
