"""Calibrate the decision weights and thresholds (knowledge/decision.yml) on labelled questions.

    python -m knowledge.calibrate [FILES ...]

For every question it computes, once, what the live bot sees: the reply language, the retrieval
scores (in-process, same code as the action server) and Rasa's intent ranking (from the real
Rasa model, started on loopback with its HTTP API behind a random token). It then searches the
decision parameters for the best balance of correct answers and declined out-of-scope
questions, with the worst language counting most, and writes knowledge/decision.yml.
Re-run it after large knowledge changes; check the result with `python -m knowledge.eval`.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import secrets
import subprocess
import sys
import time
from pathlib import Path

import requests
from tqdm import tqdm

import settings
from knowledge import langid
from knowledge.decide import DECISION_FILE, DecisionConfig, decide
from knowledge.eval import DEFAULT_FILES, load_questions
from knowledge.loader import load_knowledge
from knowledge.nlu_export import TOPIC_INTENT_PREFIX
from knowledge.retrieval import Embedder, Retriever

GRID = {
    "w_dense": [0.6],
    "w_lexical": [0.1, 0.2],
    "w_rasa": [0.1, 0.2],
    "answer_min": [0.35, 0.4, 0.45],
    "clarify_margin": [0.01, 0.02],  # never 0: asking back is right for a really ambiguous question
    "clarify_margin_short": [0.01, 0.03, 0.05, 0.08],
    "oos_margin": [0.0, 0.02],
    "rasa_oos_min": [0.5, 0.7],
    "rasa_oos_max_fused": [0.55, 0.65, 0.75, 1.01],
}


class RasaParser:
    """The trained Rasa model behind its HTTP API, on loopback, for /model/parse."""

    def __init__(self):
        from scripts.stack import RASA_BIN, ROOT, free_port, model_path, rasa_env

        self.port, self.token = free_port(), secrets.token_urlsafe(16)
        log = open(settings.LOG_DIR / "calibrate-rasa.log", "ab")
        self.proc = subprocess.Popen(
            [str(RASA_BIN / "rasa"), "run", "--model", str(model_path()), "--enable-api", "--auth-token", self.token,
             "--interface", "127.0.0.1", "--port", str(self.port)],
            cwd=ROOT, env=rasa_env(), stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            try:
                if requests.get(f"http://127.0.0.1:{self.port}/", timeout=1).ok:
                    return
            except requests.RequestException:
                time.sleep(1)
        raise SystemExit("Rasa did not start: see var/log/calibrate-rasa.log")

    def parse(self, text: str) -> list[dict]:
        r = requests.post(f"http://127.0.0.1:{self.port}/model/parse", params={"token": self.token}, json={"text": text}, timeout=30)
        r.raise_for_status()
        return r.json().get("intent_ranking") or []

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)


def features(rows: list[dict]) -> list[tuple]:
    from scripts.stack import prepare

    prepare()
    kb, _ = load_knowledge(settings.KNOWLEDGE_DIR, settings.TOPICS_CONTRACT)
    retriever = Retriever(kb, Embedder(settings.EMBEDDING_MODEL), settings.INDEX_DIR)
    parser = RasaParser()
    out = []
    try:
        for row in tqdm(rows, desc="features", unit="q"):
            lang = langid.choose_language(row["text"], None, None, settings.DEFAULT_LANGUAGE)
            ranking = parser.parse(row["text"])
            rasa = {i["name"][len(TOPIC_INTENT_PREFIX):]: i["confidence"] for i in ranking if i["name"].startswith(TOPIC_INTENT_PREFIX)}
            rasa_oos = next((i["confidence"] for i in ranking if i["name"] == "out_of_scope"), 0.0)
            out.append((row, retriever.rank(row["text"], lang), rasa, rasa_oos, len(row["text"].split())))
    finally:
        parser.close()
    return out


def evaluate(feats: list[tuple], cfg: DecisionConfig) -> dict[str, dict[str, float]]:
    per: dict[str, dict[str, list]] = {}
    for row, ranking, rasa, rasa_oos, words in feats:
        d = decide(ranking, rasa, cfg, rasa_oos, words)
        m = per.setdefault(row["lang"], {"correct": [], "answered": [], "top1": [], "oos": []})
        if row["topics"]:
            # asking back with the right topic among the buttons is worth half an answer
            asked_right = d.kind == "clarify" and any(t in row["topics"] for t in d.candidates)
            m["correct"].append(1.0 if d.topic in row["topics"] else 0.5 if asked_right else 0.0)
            m["answered"].append(d.topic is not None)
            m["top1"].append(d.candidates[0] in row["topics"])
        else:
            m["oos"].append(d.topic is None)
    return {lang: {k: sum(v) / len(v) if v else 1.0 for k, v in m.items()} for lang, m in per.items()}


def objective(result: dict[str, dict[str, float]]) -> float:
    """Correct answers and declined out-of-scope questions; the weakest language weighs double;
    a language under the targets (answered ≥ 95 %, out of scope declined ≥ 80 %) is penalised."""
    per_lang = []
    for m in result.values():
        value = m["correct"] + 0.5 * m["oos"]
        value -= 2 * max(0.0, 0.95 - m["answered"]) + 2 * max(0.0, 0.80 - m["oos"])
        per_lang.append(value)
    return sum(per_lang) / len(per_lang) + min(per_lang)


def search(feats: list[tuple]) -> tuple[DecisionConfig, dict]:
    keys = list(GRID)
    combos = list(itertools.product(*GRID.values()))
    best, best_value, best_result = None, float("-inf"), None
    for values in tqdm(combos, desc="search", unit="cfg"):
        cfg = dataclasses.replace(DecisionConfig(), **dict(zip(keys, values, strict=True)))
        result = evaluate(feats, cfg)
        value = objective(result)
        if value > best_value:
            best, best_value, best_result = cfg, value, result
    return best, best_result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m knowledge.calibrate", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("files", nargs="*", type=Path)
    parser.add_argument("--dry-run", action="store_true", help="print the result, do not write decision.yml")
    args = parser.parse_args(argv)
    files = args.files or DEFAULT_FILES
    rows = load_questions(files)
    feats = features(rows)
    before = evaluate(feats, DecisionConfig.load())
    cfg, after = search(feats)
    print(f"\n{'lang':5} {'correct':>16} {'answered':>16} {'oos declined':>16}   (current → calibrated)")
    for lang in after:
        b, a = before[lang], after[lang]
        print(f"{lang:5} " + " ".join(f"{100 * b[k]:7.1f} →{100 * a[k]:6.1f}" for k in ("correct", "answered", "oos")))
    print(f"\ncalibrated: {dataclasses.asdict(cfg)}")
    if not args.dry_run:
        header = (f"# Decision weights and thresholds, written by `python -m knowledge.calibrate` from\n"
                  f"# {len(rows)} labelled questions ({', '.join(p.name for p in files)}). Re-run it; do not hand-tune.\n")
        cfg.save(DECISION_FILE, header)
        print(f"written: {DECISION_FILE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
