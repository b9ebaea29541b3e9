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
import re
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


def _probabilities(labels: tuple[str, ...], logits: np.ndarray) -> dict[str, float]:
    """Softmax of one row of logits, by label."""
    logits = logits - logits.max()
    p = np.exp(logits)
    p /= p.sum()
    return dict(zip(labels, (float(x) for x in p), strict=True))


def _save_arrays(path: Path, **arrays: np.ndarray) -> None:
    """Write a model's arrays to `path` atomically (a reader never sees half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.stem + ".tmp.npz")
    np.savez(tmp, **arrays)
    tmp.replace(path)


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
        return _probabilities(self.labels, self.coef @ vector + self.intercept)

    def save(self, path: Path) -> None:
        _save_arrays(path, labels=np.array(self.labels), coef=self.coef, intercept=self.intercept)

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


_WHITESPACE = re.compile(r"\s\s+")


class CharClassifier:
    """Logistic regression on character n-grams (3 to 5 letters, inside words) of the lower-cased,
    diacritic-free text. Where the embedding classifier reads meaning, this one reads spelling: a
    typo, a missing diacritic or a Swedish term inside a Latvian sentence leaves most of a word's
    n-grams intact. Cross-validation showed the two are right on different questions (each alone
    ~76 % top-1 on held-out examples, lt/lv better with this one); the fused score uses both.
    Deterministic (lbfgs on fixed inputs); cached next to the embedding classifier."""

    NGRAMS = (3, 5)
    MAX_FEATURES = 20000

    def __init__(self, labels: tuple[str, ...], vocabulary: tuple[str, ...], idf: np.ndarray, coef: np.ndarray, intercept: np.ndarray):
        self.labels, self.vocabulary, self.idf, self.coef, self.intercept = labels, vocabulary, idf, coef, intercept
        self._index = {t: i for i, t in enumerate(vocabulary)}

    @staticmethod
    def _normalise(text: str) -> str:
        from knowledge.textnorm import fold

        return fold(text)

    @classmethod
    def fit(cls, texts: list[str], labels: list[str], c: float = 10.0) -> CharClassifier:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression

        started = time.perf_counter()
        vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=cls.NGRAMS, sublinear_tf=True, dtype=np.float32,
                                     min_df=2, max_features=cls.MAX_FEATURES)
        matrix = vectorizer.fit_transform([cls._normalise(t) for t in texts])
        model = LogisticRegression(C=c, max_iter=300, tol=1e-3, class_weight="balanced")
        model.fit(matrix, np.array(labels))
        log.info("character classifier: %d examples, %d n-grams, fitted in %.1f s", len(labels), matrix.shape[1], time.perf_counter() - started)
        vocabulary = tuple(sorted(vectorizer.vocabulary_, key=vectorizer.vocabulary_.__getitem__))
        return cls(tuple(str(x) for x in model.classes_), vocabulary, vectorizer.idf_.astype(np.float32),
                   model.coef_.astype(np.float32), model.intercept_.astype(np.float32))

    @classmethod
    def ngrams(cls, text: str) -> list[str]:
        """scikit-learn's "char_wb" analyzer (the n-grams of each word padded with spaces), so a
        question is read without importing scikit-learn and SciPy into the serving process;
        tests/test_char_classifier.py checks that the two agree."""
        low, high = cls.NGRAMS
        out = []
        for word in _WHITESPACE.sub(" ", text.lower()).split():
            padded = f" {word} "
            for n in range(low, high + 1):
                if len(padded) <= n:
                    out.append(padded)  # a word shorter than n counts once, whole
                    break
                out.extend(padded[i:i + n] for i in range(len(padded) - n + 1))
        return out

    def features(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """The question's tf-idf vector (sublinear tf, l2-normalised) as (indices, values)."""
        counts: dict[int, int] = {}
        for gram in self.ngrams(self._normalise(text)):
            i = self._index.get(gram)
            if i is not None:
                counts[i] = counts.get(i, 0) + 1
        if not counts:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        indices = np.fromiter(counts, dtype=np.int64, count=len(counts))
        values = (1.0 + np.log(np.fromiter(counts.values(), dtype=np.float64, count=len(counts)))) * self.idf[indices]
        return indices, (values / np.linalg.norm(values)).astype(np.float32)

    def proba(self, text: str) -> dict[str, float]:
        indices, values = self.features(text)
        return _probabilities(self.labels, self.coef[:, indices] @ values + self.intercept)

    def save(self, path: Path) -> None:
        _save_arrays(path, labels=np.array(self.labels), vocabulary=np.array(self.vocabulary), idf=self.idf, coef=self.coef,
                     intercept=self.intercept)

    @classmethod
    def load(cls, path: Path) -> CharClassifier | None:
        try:
            with np.load(path, allow_pickle=False) as data:
                return cls(tuple(data["labels"].tolist()), tuple(data["vocabulary"].tolist()), data["idf"], data["coef"], data["intercept"])
        except (OSError, KeyError, ValueError):
            return None
