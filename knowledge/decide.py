"""Turn retrieval scores (and Rasa's intent ranking) into one of four decisions:

- answer: one topic is clearly best;
- clarify: two or three topics are close: ask which was meant, with buttons;
- out_of_scope: the question is about something the service does not cover (weather forecasts,
  sports, asylum ...): decline politely, with a pointer where one exists;
- decline: nothing fits well enough: say so honestly and offer the closest topics and a person.

The weights and thresholds live in knowledge/decision.yml, written by the calibration command
(`python -m knowledge.eval --calibrate`) from labelled questions; the defaults below are used
when that file is missing.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

import yaml

from knowledge.retrieval import Ranking

DECISION_FILE = Path(__file__).with_name("decision.yml")


@dataclass(frozen=True)
class DecisionConfig:
    # fused score = w_dense * rescaled cosine + w_lexical * BM25 share + w_rasa * Rasa confidence
    w_dense: float = 0.6
    w_lexical: float = 0.2
    w_rasa: float = 0.2
    dense_floor: float = 0.75  # cosine at or below this counts as "no similarity" for e5
    dense_ceiling: float = 0.95  # cosine at or above this counts as a paraphrase
    answer_min: float = 0.45  # below this fused score for the best topic: decline
    clarify_margin: float = 0.04  # best and second closer than this: ask which one
    oos_margin: float = 0.0  # out-of-scope example closer than best topic by this much: out of scope
    rasa_oos_min: float = 0.5  # Rasa's out_of_scope intent at least this confident ...
    rasa_oos_max_fused: float = 0.65  # ... and the best topic below this: out of scope
    clarify_margin_short: float = 0.03  # the clarify margin for one- or two-word questions ("housing")
    candidates: int = 3

    @classmethod
    def load(cls, path: Path = DECISION_FILE) -> DecisionConfig:
        if not path.exists():
            return cls()
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        known = {k: float(v) if k != "candidates" else int(v) for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)

    def save(self, path: Path = DECISION_FILE, header: str = "") -> None:
        text = yaml.safe_dump(asdict(self), sort_keys=False)
        path.write_text(header + text, encoding="utf-8")


@dataclass(frozen=True)
class Decision:
    kind: Literal["answer", "clarify", "decline", "out_of_scope"]
    topic: str | None
    candidates: list[str]
    scores: dict[str, float] = field(default_factory=dict)
    oos_category: str | None = None


def fuse(ranking: Ranking, rasa: dict[str, float], cfg: DecisionConfig) -> dict[str, float]:
    span = cfg.dense_ceiling - cfg.dense_floor
    fused = {}
    for topic, cosine in ranking.dense.items():
        dense = min(1.0, max(0.0, (cosine - cfg.dense_floor) / span))
        fused[topic] = cfg.w_dense * dense + cfg.w_lexical * ranking.lexical.get(topic, 0.0) + cfg.w_rasa * rasa.get(topic, 0.0)
    return dict(sorted(fused.items(), key=lambda kv: kv[1], reverse=True))


SHORT_QUESTION_WORDS = 2


def decide(ranking: Ranking, rasa: dict[str, float], cfg: DecisionConfig, rasa_oos: float = 0.0, words: int = 10) -> Decision:
    """`rasa` maps topic ids to Rasa's intent confidence; `rasa_oos` is its out_of_scope
    confidence; `words` is the question's length in words."""
    fused = fuse(ranking, rasa, cfg)
    ordered = list(fused)
    best, second = ordered[0], ordered[1]
    candidates = ordered[: cfg.candidates]
    scores = {t: round(fused[t], 4) for t in candidates}
    best_dense = max(ranking.dense.values())
    rasa_says_oos = rasa_oos >= cfg.rasa_oos_min and fused[best] < cfg.rasa_oos_max_fused
    if ranking.oos_category and (ranking.oos_dense > best_dense + cfg.oos_margin or rasa_says_oos):
        return Decision("out_of_scope", None, candidates, scores, ranking.oos_category)
    if fused[best] < cfg.answer_min:
        return Decision("decline", None, candidates, scores)
    margin = cfg.clarify_margin_short if words <= SHORT_QUESTION_WORDS else cfg.clarify_margin
    if fused[best] - fused[second] < margin and fused[second] >= cfg.answer_min:
        close = [t for t in candidates if fused[best] - fused[t] < margin]
        return Decision("clarify", None, close, scores)
    return Decision("answer", best, candidates, scores)
