"""Turn retrieval scores (and Rasa's intent ranking) into one of four decisions:

- answer: one topic is clearly best;
- clarify: two or three topics are close: ask which was meant, with buttons;
- out_of_scope: the question is about something the service does not cover (weather forecasts,
  sports, asylum ...): decline politely, with a pointer where one exists;
- decline: nothing fits well enough: say so honestly and offer the closest topics and a person.

The weights and thresholds live in knowledge/decision.yml, written by `python -m knowledge.calibrate`
from grouped cross-validation over the knowledge base's own examples (never the dev set); the
defaults below are used when that file is missing.
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
    # fused score = w_clf * classifier probability + w_dense * rescaled cosine + w_lexical * BM25 share
    #             + w_char * character n-gram classifier probability
    w_clf: float = 0.4
    w_dense: float = 0.3
    w_lexical: float = 0.1
    w_char: float = 0.2
    classifier_c: float = 4.0  # the classifier's regularisation (knowledge/classifier.py)
    dense_floor: float = 0.75  # cosine at or below this counts as "no similarity" for e5
    dense_ceiling: float = 0.95  # cosine at or above this counts as a paraphrase
    answer_min: float = 0.45  # below this fused score for the best topic: decline
    clarify_margin: float = 0.04  # best and second closer than this: ask which one
    clarify_margin_short: float = 0.06  # the clarify margin for one- or two-word questions ("housing")
    oos_min: float = 0.5  # the classifier's out-of-scope probability at least this ...
    oos_min_short: float = 0.5  # ... (for a one- or two-word message: a keyword says too little to decline it)
    oos_over_best: float = 0.0  # ... and above the best topic's probability by this much: out of scope
    oos_margin: float = 0.03  # or an out-of-scope example closer than any topic example by this much
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


def fuse(ranking: Ranking, cfg: DecisionConfig) -> dict[str, float]:
    span = cfg.dense_ceiling - cfg.dense_floor
    fused = {}
    for topic, cosine in ranking.dense.items():
        dense = min(1.0, max(0.0, (cosine - cfg.dense_floor) / span))
        fused[topic] = (cfg.w_clf * ranking.clf.get(topic, 0.0) + cfg.w_dense * dense
                        + cfg.w_lexical * ranking.lexical.get(topic, 0.0) + cfg.w_char * ranking.char.get(topic, 0.0))
    return dict(sorted(fused.items(), key=lambda kv: kv[1], reverse=True))


SHORT_QUESTION_WORDS = 2


def oos_probability(ranking: Ranking, cfg: DecisionConfig) -> tuple[float, float]:
    """(p(out of scope), the best topic's p), both classifiers' probabilities mixed in the
    proportion of their weights: what is out of scope by meaning *and* by wording."""
    total = cfg.w_clf + cfg.w_char
    if total <= 0:
        return ranking.p_oos, max(ranking.clf.values(), default=0.0)
    a, b = cfg.w_clf / total, cfg.w_char / total
    p_oos = a * ranking.p_oos + b * ranking.char_p_oos
    best = max((a * p + b * ranking.char.get(t, 0.0) for t, p in ranking.clf.items()), default=0.0)
    return p_oos, best


def act_probabilities(ranking: Ranking, cfg: DecisionConfig) -> dict[str, float]:
    """Conversation act -> probability, both classifiers mixed like oos_probability: "a akademik?"
    reads like "who are you?" to the embedding alone, not to the spelling."""
    total = cfg.w_clf + cfg.w_char
    if total <= 0 or not ranking.char_acts:
        return dict(ranking.acts)
    a, b = cfg.w_clf / total, cfg.w_char / total
    return {act: a * p + b * ranking.char_acts.get(act, 0.0) for act, p in ranking.acts.items()}


def is_out_of_scope(ranking: Ranking, cfg: DecisionConfig, words: int = 10) -> bool:
    p_oos, best_topic_p = oos_probability(ranking, cfg)
    best_dense = max(ranking.dense.values())
    oos_min = cfg.oos_min_short if words <= SHORT_QUESTION_WORDS else cfg.oos_min
    by_classifier = p_oos >= oos_min and p_oos > best_topic_p + cfg.oos_over_best
    by_example = ranking.oos_dense > best_dense + cfg.oos_margin
    return bool(ranking.oos_category) and (by_classifier or by_example)


def decide(ranking: Ranking, cfg: DecisionConfig, words: int = 10) -> Decision:
    """`words` is the question's length in words (short questions are asked back more readily)."""
    fused = fuse(ranking, cfg)
    ordered = list(fused)
    best, second = ordered[0], ordered[1]
    candidates = ordered[: cfg.candidates]
    scores = {t: round(fused[t], 4) for t in candidates}
    if is_out_of_scope(ranking, cfg, words):
        return Decision("out_of_scope", None, candidates, scores, ranking.oos_category)
    if fused[best] < cfg.answer_min:
        return Decision("decline", None, candidates, scores)
    margin = cfg.clarify_margin_short if words <= SHORT_QUESTION_WORDS else cfg.clarify_margin
    if fused[best] - fused[second] < margin and fused[second] >= cfg.answer_min:
        close = [t for t in candidates if fused[best] - fused[t] < margin]
        return Decision("clarify", None, close, scores)
    return Decision("answer", best, candidates, scores)
