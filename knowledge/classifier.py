"""A classifier over sentence embeddings: which topic, conversation act or out-of-scope class a
message belongs to.

Multinomial logistic regression on the e5 embeddings of every example in knowledge/ (topic
questions and titles, conversation acts, out-of-scope examples). Unlike a nearest neighbour, it
learns which directions of the embedding space separate two topics, which is what ranks a
narrative or a typo-ridden question right. It is deterministic (lbfgs on fixed inputs), trains
in seconds, and is cached next to the search index under the knowledge fingerprint.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

OOS_PREFIX = "oos:"
ACT_PREFIX = "act:"
SAFETY_PREFIX = "safety:"
# Regularisation strength, chosen by grouped cross-validation on the knowledge base's own examples
# (python -m knowledge.calibrate prints the comparison); class weights balance topics with many
# examples against acts with few.
DEFAULT_C = 4.0


@dataclass(frozen=True)
class Classifier:
    labels: tuple[str, ...]
    coef: np.ndarray  # (classes, dims)
    intercept: np.ndarray  # (classes,)

    @classmethod
    def fit(cls, vectors: np.ndarray, labels: list[str], c: float = DEFAULT_C) -> Classifier:
        from sklearn.linear_model import LogisticRegression

        started = time.perf_counter()
        model = LogisticRegression(C=c, max_iter=3000, class_weight="balanced", tol=1e-5)
        model.fit(vectors, np.array(labels))
        log.info("classifier: %d examples, %d classes, fitted in %.1f s", len(labels), len(model.classes_), time.perf_counter() - started)
        return cls(tuple(str(x) for x in model.classes_), model.coef_.astype(np.float32), model.intercept_.astype(np.float32))

    def proba(self, vector: np.ndarray) -> dict[str, float]:
        logits = self.coef @ vector + self.intercept
        logits -= logits.max()
        p = np.exp(logits)
        p /= p.sum()
        return dict(zip(self.labels, (float(x) for x in p), strict=True))

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.stem + ".tmp.npz")
        np.savez(tmp, labels=np.array(self.labels), coef=self.coef, intercept=self.intercept)
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> Classifier | None:
        try:
            with np.load(path, allow_pickle=False) as data:
                return cls(tuple(data["labels"].tolist()), data["coef"], data["intercept"])
        except (OSError, KeyError, ValueError):
            return None


def split(proba: dict[str, float]) -> tuple[dict[str, float], float, dict[str, float], dict[str, float]]:
    """(topic -> p, p(out of scope, all categories), act -> p, emergency/crisis -> p) from one
    probability vector."""
    topics = {k: v for k, v in proba.items() if not k.startswith((OOS_PREFIX, ACT_PREFIX, SAFETY_PREFIX))}
    acts = {k[len(ACT_PREFIX):]: v for k, v in proba.items() if k.startswith(ACT_PREFIX)}
    danger = {k[len(SAFETY_PREFIX):]: v for k, v in proba.items() if k.startswith(SAFETY_PREFIX)}
    return topics, sum(v for k, v in proba.items() if k.startswith(OOS_PREFIX)), acts, danger
