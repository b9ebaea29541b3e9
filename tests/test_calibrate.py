"""The calibration scores thousands of decision configurations with array arithmetic
(knowledge.calibrate.Table); the live service decides one question at a time
(knowledge.decide.decide). If the two drift apart, the thresholds written to decision.yml are
fitted to a rule the service does not follow. These tests hold them together."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from knowledge.calibrate import GRID, OOS_MIN_SHORT, WEIGHTS, Table
from knowledge.crossval import HeldOut
from knowledge.decide import DecisionConfig, decide
from knowledge.retrieval import Doc, Ranking

TOPICS = ["work.find-jobs", "admin.taxes", "housing.rent", "life.climate", "education.preschool"]
LANGS = ["en", "sv", "pl", "lt", "lv"]


def _held_out(rng: np.random.Generator, n: int) -> list[HeldOut]:
    rows = []
    for i in range(n):
        lang = LANGS[i % len(LANGS)]
        words = int(rng.integers(1, 25))
        text = " ".join(["word"] * words)
        clf = rng.dirichlet(np.ones(len(TOPICS) + 1) * 0.3)
        # ties and near-ties are where two implementations of "best" and "second" differ
        dense = np.round(rng.uniform(0.7, 0.97, len(TOPICS)), 2)
        lexical = np.round(rng.uniform(0, 1, len(TOPICS)), 1)
        char = rng.dirichlet(np.ones(len(TOPICS) + 1) * 0.5)
        has_oos = bool(rng.random() < 0.8)
        ranking = Ranking(
            dense=dict(zip(TOPICS, dense.tolist(), strict=True)),
            lexical=dict(zip(TOPICS, lexical.tolist(), strict=True)),
            lexical_top=1.0,
            oos_dense=float(rng.uniform(0.7, 0.97)),
            oos_category="general_knowledge" if has_oos else None,
            clf=dict(zip(TOPICS, clf[:-1].tolist(), strict=True)),
            p_oos=float(clf[-1]),
            char=dict(zip(TOPICS, char[:-1].tolist(), strict=True)),
            char_p_oos=float(char[-1]),
        )
        expected = TOPICS[int(rng.integers(len(TOPICS)))] if rng.random() < 0.85 else None
        rows.append(HeldOut(Doc(expected or "oos:general_knowledge", lang, "question", text), expected, "plain", ranking))
    return rows


def _configs(rng: np.random.Generator, n: int) -> list[DecisionConfig]:
    configs = [DecisionConfig.load(), DecisionConfig()]
    for _ in range(n):
        w_clf, w_lex, w_char = WEIGHTS[int(rng.integers(len(WEIGHTS)))]
        values = {k: v[int(rng.integers(len(v)))] for k, v in GRID.items()}
        values["oos_min_short"] = OOS_MIN_SHORT[int(rng.integers(len(OOS_MIN_SHORT)))]
        configs.append(DecisionConfig(w_clf=w_clf, w_lexical=w_lex, w_char=w_char, w_dense=round(1 - w_clf - w_lex - w_char, 4), **values))
    return configs


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_calibration_table_decides_exactly_like_the_live_rule(seed):
    rng = np.random.default_rng(seed)
    held = _held_out(rng, 400)
    table = Table(held, TOPICS)
    for cfg in _configs(rng, 15):
        arrays = table.decisions(cfg)
        for i, h in enumerate(held):
            live = decide(h.ranking, cfg, words=len(h.doc.text.split()))
            assert bool(arrays["answer"][i]) == (live.kind == "answer"), (dataclasses.asdict(cfg), live, i)
            if h.expected:
                ranked = list(live.scores)  # the three best topics, best first (candidates narrows on clarify)
                assert bool(arrays["top1"][i]) == (ranked[0] == h.expected)
                assert bool(arrays["top3"][i]) == (h.expected in ranked)


def test_the_calibration_table_counts_out_of_scope_declines_like_the_live_rule():
    rng = np.random.default_rng(7)
    held = _held_out(rng, 600)
    table = Table(held, TOPICS)
    cfg = DecisionConfig.load()
    metrics = table.metrics(cfg)
    for lang in LANGS:
        oos = [h for h in held if h.expected is None and h.doc.lang == lang]
        declined = sum(decide(h.ranking, cfg, words=len(h.doc.text.split())).kind != "answer" for h in oos)
        assert metrics[lang]["oos_declined"] == pytest.approx(declined / len(oos))
