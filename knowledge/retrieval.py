"""Hybrid retrieval over the knowledge base: which topic answers this question?

Two rankings are fused:
- dense: multilingual e5 embeddings of every example question, title and answer of every
  topic in every language (and of the out-of-scope examples), compared with the question;
- lexical: BM25 over each language's topic texts after stemming and diacritic folding, which
  rescues questions typed without diacritics or with Swedish terms.
The embeddings are cached on disk under a key of the knowledge fingerprint and the model name,
so an index is built once per change of the knowledge files (with a progress bar).
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

import bm25s
import numpy as np

import settings
from knowledge import textnorm
from knowledge.classifier import ACT_PREFIX, CharClassifier, Classifier, split
from knowledge.loader import KnowledgeBase
from settings import LANGUAGES

log = logging.getLogger(__name__)

OOS_PREFIX = "oos:"
SAFETY_PREFIX = "safety:"


@dataclass(frozen=True)
class Doc:
    owner: str  # a topic id, "oos:<category>", "act:<act>" or "safety:<kind>"
    lang: str
    kind: str  # question | title | answer | passage | oos | act | safety
    text: str


TOPIC_KINDS = ("question", "title", "answer")
CLASSIFIER_VERSION = 4  # bump when what the classifier learns changes (its cache is keyed by it)


def passages(text: str) -> list[str]:
    """An answer's paragraphs and a details text's bullets: the parts a follow-up can be answered with."""
    parts = []
    for block in text.split("\n\n"):
        lines = [line.strip() for line in block.splitlines() if line.strip()]
        if lines and all(line.startswith("- ") for line in lines):
            parts.extend(line[2:].strip() for line in lines)
        elif lines:
            parts.append(" ".join(lines))
    return parts


def documents(kb: KnowledgeBase) -> list[Doc]:
    docs: list[Doc] = []
    for topic in kb.topics.values():
        for lang in LANGUAGES:
            entry = topic.entry(lang)
            docs.append(Doc(topic.id, lang, "title", entry.title))
            docs.append(Doc(topic.id, lang, "answer", f"{entry.title}. {entry.answer}"))
            docs.extend(Doc(topic.id, lang, "question", q) for q in entry.questions)
            for part in passages(entry.answer) + passages(entry.details or ""):
                docs.append(Doc(topic.id, lang, "passage", part))
    for name, category in kb.out_of_scope.categories.items():
        for lang, examples in category.examples.items():
            docs.extend(Doc(OOS_PREFIX + name, lang, "oos", q) for q in examples)
    for name, per_lang in kb.conversation.acts.items():
        for lang, examples in per_lang.items():
            docs.extend(Doc(ACT_PREFIX + name, lang, "act", q) for q in examples)
    for name, per_lang in kb.conversation.safety.items():
        for lang, examples in per_lang.items():
            docs.extend(Doc(SAFETY_PREFIX + name, lang, "safety", q) for q in examples)
    return docs


def training_label(doc: Doc) -> str | None:
    """The classifier's label for a document, or None when it is not a training example."""
    if doc.kind in ("question", "title"):
        return doc.owner
    if doc.kind == "oos":
        return doc.owner  # one class per out-of-scope category: "weather" and "crypto" are not one cluster
    if doc.kind == "act":
        return doc.owner
    if doc.kind == "safety" and doc.owner != SAFETY_PREFIX + "not_emergency":
        return doc.owner  # "safety:emergency", "safety:crisis": the examples of "no" are for tests only
    return None


def _embed_text(doc: Doc) -> str:
    return ("passage: " if doc.kind in ("answer", "passage") else "query: ") + doc.text


BACKENDS = ("onnx", "torch")


class Embedder:
    """The embedding model, loaded once per process: on ONNX Runtime (knowledge/onnx_encoder.py)
    or on PyTorch through sentence-transformers. Both give the same vectors (to 1e-7), so they
    share one index."""

    def __init__(self, name_or_path: str, threads: int = settings.TORCH_THREADS, backend: str = settings.EMBEDDING_BACKEND):
        if backend not in BACKENDS:
            raise ValueError(f"MOVE_EMBEDDING_BACKEND must be one of {', '.join(BACKENDS)}, not {backend!r}")
        if backend == "onnx" and not Path(name_or_path).is_dir():
            log.warning("embedding model %s is not a local folder: using the torch backend", name_or_path)
            backend = "torch"
        started = time.perf_counter()
        self.name, self.backend = name_or_path, backend
        # One thread per query: on a small shared server, a thread pool spinning against the
        # other processes made a single query ~25x slower (730 ms instead of 27 ms).
        if backend == "onnx":
            from knowledge.onnx_encoder import OnnxEncoder

            self._encoder = OnnxEncoder(Path(name_or_path), threads=threads)
        else:
            import torch

            from knowledge.embedding_model import load_model

            torch.set_num_threads(threads)
            self._encoder = load_model(name_or_path)
        log.info("embedding model %s (%s) loaded in %.1f s", name_or_path, backend, time.perf_counter() - started)

    @property
    def key(self) -> str:
        return hashlib.sha256(self.name.encode()).hexdigest()[:10]

    def encode(self, texts: list[str], progress: bool = False) -> np.ndarray:
        if self.backend == "onnx":
            return self._encoder.encode(texts, progress=progress)
        vectors = self._encoder.encode(
            texts, batch_size=64, convert_to_numpy=True, normalize_embeddings=True, show_progress_bar=progress
        )
        return vectors.astype(np.float32)

    def query(self, text: str) -> np.ndarray:
        return self.encode(["query: " + text])[0]


def _cache_path(index_dir: Path, kb: KnowledgeBase, embedder: Embedder) -> Path:
    return index_dir / f"dense-{kb.fingerprint}-{embedder.key}.npz"


def _previous_vectors(index_dir: Path, embedder: Embedder) -> dict[str, np.ndarray]:
    """Text -> vector from the newest earlier index of this model (to re-embed only edits)."""
    caches = sorted(index_dir.glob(f"dense-*-{embedder.key}.npz"), key=lambda p: p.stat().st_mtime, reverse=True)
    for path in caches:
        try:
            with np.load(path, allow_pickle=False) as cached:
                return dict(zip(cached["texts"].tolist(), cached["vectors"], strict=True))
        except (OSError, KeyError, ValueError):
            continue
    return {}


def dense_matrix(kb: KnowledgeBase, embedder: Embedder, index_dir: Path, progress: bool = False) -> np.ndarray:
    """The embeddings of `documents(kb)`, from the cache or computed (then cached). Texts that an
    earlier index already embedded are reused, so an edit re-embeds only what changed."""
    texts = [_embed_text(d) for d in documents(kb)]
    path = _cache_path(index_dir, kb, embedder)
    if path.exists():
        with np.load(path, allow_pickle=False) as cached:
            if cached["texts"].tolist() == texts:
                return cached["vectors"]
    started = time.perf_counter()
    known = _previous_vectors(index_dir, embedder) if index_dir.exists() else {}
    missing = sorted({t for t in texts if t not in known})
    if missing:
        known.update(zip(missing, embedder.encode(missing, progress=progress and len(missing) > 64), strict=True))
    vectors = np.stack([known[t] for t in texts]).astype(np.float32)
    index_dir.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.stem + ".tmp.npz")
    np.savez(tmp, vectors=vectors, texts=np.array(texts))
    tmp.replace(path)
    for old in index_dir.glob(f"dense-*-{embedder.key}.npz"):
        if old != path:
            old.unlink(missing_ok=True)
    seconds = time.perf_counter() - started
    log.info("search index built: %d texts (%d embedded now) in %.1f s", len(texts), len(missing), seconds)
    (index_dir / "index-info.json").write_text(json.dumps(
        {"fingerprint": kb.fingerprint, "model": embedder.name, "backend": embedder.backend, "texts": len(texts), "embedded_now": len(missing),
         "seconds": round(seconds, 1)}, indent=2))
    return vectors


@dataclass(frozen=True)
class Ranking:
    """Per-topic scores for one question, best first."""

    dense: dict[str, float]  # topic id -> best cosine similarity
    lexical: dict[str, float]  # topic id -> BM25 score / best BM25 score (0..1)
    lexical_top: float  # the best raw BM25 score (0 when no query term is in any topic)
    oos_dense: float  # best similarity to an out-of-scope example
    oos_category: str | None
    clf: dict[str, float] = field(default_factory=dict)  # topic id -> classifier probability
    p_oos: float = 0.0  # the classifier's probability of "out of scope"
    acts: dict[str, float] = field(default_factory=dict)  # conversation act -> classifier probability
    acts_dense: dict[str, float] = field(default_factory=dict)  # conversation act -> best cosine to its examples
    danger: dict[str, float] = field(default_factory=dict)  # emergency / crisis -> classifier probability
    char: dict[str, float] = field(default_factory=dict)  # topic id -> character n-gram classifier probability
    char_p_oos: float = 0.0  # the character n-gram classifier's probability of "out of scope"
    char_acts: dict[str, float] = field(default_factory=dict)  # conversation act -> character n-gram classifier probability


class Features:
    """What a ranking is computed from: the document vectors, which rows count for what, the
    lexical indexes and the classifier. The live retriever has one over the whole knowledge base;
    cross-validation (knowledge/crossval.py) builds one per fold without the held-out examples."""

    def __init__(self, kb: KnowledgeBase, docs: list[Doc], vectors: np.ndarray, keep: np.ndarray, classifier: Classifier,
                 char_classifier: CharClassifier):
        self.kb, self.docs, self.vectors, self.classifier, self.char_classifier = kb, docs, vectors, classifier, char_classifier
        self.topic_ids = list(kb.topics)
        owners = np.array([d.owner for d in docs])
        kinds = np.array([d.kind for d in docs])
        topical = np.isin(kinds, TOPIC_KINDS) & keep
        self._topic_rows = {t: np.flatnonzero(topical & (owners == t)) for t in self.topic_ids}
        self._oos_rows = np.flatnonzero((kinds == "oos") & keep)
        self._act_rows = {o.removeprefix(ACT_PREFIX): np.flatnonzero((owners == o) & keep)
                          for o in sorted(set(owners[kinds == "act"].tolist()))}
        self._bm25 = {lang: self._build_bm25(lang, keep) for lang in LANGUAGES}

    def _build_bm25(self, lang: str, keep: np.ndarray) -> bm25s.BM25:
        texts: dict[str, list[str]] = {t: [] for t in self.topic_ids}
        for i, doc in enumerate(self.docs):
            if doc.lang == lang and doc.kind in TOPIC_KINDS and keep[i]:
                texts[doc.owner].append(doc.text)
                if doc.kind == "title":
                    texts[doc.owner].append(doc.text)  # titles count twice
        index = bm25s.BM25()
        index.index([textnorm.terms(" ".join(texts[t]), lang) for t in self.topic_ids], show_progress=False)
        return index

    def rank(self, vector: np.ndarray, text: str, lang: str) -> Ranking:
        sims = self.vectors @ vector
        dense = {t: float(sims[rows].max()) for t, rows in self._topic_rows.items()}
        oos_best, oos_category = -1.0, None
        if len(self._oos_rows):
            best = int(self._oos_rows[np.argmax(sims[self._oos_rows])])
            oos_best = float(sims[best])
            oos_category = self.docs[best].owner.removeprefix(OOS_PREFIX)
        lexical, lexical_top = self._lexical(text, lang)
        clf, p_oos, acts, danger = split(self.classifier.proba(vector))
        acts_dense = {a: float(sims[rows].max()) for a, rows in self._act_rows.items() if len(rows)}
        char, char_p_oos, char_acts, _ = split(self.char_classifier.proba(text))
        return Ranking(dense, lexical, lexical_top, oos_best, oos_category, clf, p_oos, acts, acts_dense, danger, char, char_p_oos,
                       char_acts)

    def _lexical(self, text: str, lang: str) -> tuple[dict[str, float], float]:
        query = textnorm.terms(text, lang)
        scores = self._bm25[lang].get_scores(query) if query else np.zeros(len(self.topic_ids))
        top = float(scores.max())
        if top <= 0:
            return {t: 0.0 for t in self.topic_ids}, 0.0
        return {t: float(s) / top for t, s in zip(self.topic_ids, scores, strict=True)}, top


def _training_rows(docs: list[Doc], keep: np.ndarray) -> tuple[list[int], list[str]]:
    rows = [i for i, d in enumerate(docs) if keep[i] and training_label(d) is not None]
    return rows, [training_label(docs[i]) for i in rows]


def fit_classifier(docs: list[Doc], vectors: np.ndarray, keep: np.ndarray, c: float) -> Classifier:
    rows, labels = _training_rows(docs, keep)
    return Classifier.fit(vectors[rows], labels, c)


def fit_char_classifier(docs: list[Doc], keep: np.ndarray) -> CharClassifier:
    rows, labels = _training_rows(docs, keep)
    return CharClassifier.fit([docs[i].text for i in rows], labels)


def _cached(path: Path, load, fit):
    """The model cached at `path`, or a fresh fit saved there (older caches of its kind removed)."""
    model = load(path) if path.exists() else None
    if model is None:
        model = fit()
        model.save(path)
        prefix = path.name.split("-", 1)[0]
        for old in path.parent.glob(f"{prefix}-*.npz"):
            if old != path:
                old.unlink(missing_ok=True)
    return model


def features(kb: KnowledgeBase, docs: list[Doc], vectors: np.ndarray, keep: np.ndarray, c: float) -> Features:
    """Features with both classifiers fitted on the kept rows (one cross-validation fold)."""
    return Features(kb, docs, vectors, keep, fit_classifier(docs, vectors, keep, c), fit_char_classifier(docs, keep))


class Retriever:
    def __init__(self, kb: KnowledgeBase, embedder: Embedder, index_dir: Path, progress: bool = False, c: float | None = None):
        from knowledge.decide import DecisionConfig

        self.kb = kb
        self.embedder = embedder
        self.docs = documents(kb)
        self.vectors = dense_matrix(kb, embedder, index_dir, progress)
        c = c if c is not None else DecisionConfig.load().classifier_c
        # keyed by what it learns from (not the whole knowledge fingerprint): editing an answer or a
        # source does not refit it, so the edit is served within seconds
        training = hashlib.sha256("\n".join(f"{training_label(d)}\t{d.text}" for d in self.docs if training_label(d)).encode())
        path = index_dir / f"classifier-v{CLASSIFIER_VERSION}-{training.hexdigest()[:16]}-{embedder.key}-c{c:g}.npz"
        keep = np.ones(len(self.docs), dtype=bool)
        classifier = _cached(path, Classifier.load, lambda: fit_classifier(self.docs, self.vectors, keep, c))
        char_path = index_dir / f"chars-v{CLASSIFIER_VERSION}-{training.hexdigest()[:16]}.npz"
        char_classifier = _cached(char_path, CharClassifier.load, lambda: fit_char_classifier(self.docs, keep))
        self.features = Features(kb, self.docs, self.vectors, keep, classifier, char_classifier)
        self.topic_ids = self.features.topic_ids
        kinds = [d.kind for d in self.docs]
        self._passages: dict[tuple[str, str], np.ndarray] = {}
        for i, d in enumerate(self.docs):
            if kinds[i] == "passage":
                self._passages.setdefault((d.owner, d.lang), []).append(i)
        self._passages = {k: np.array(v) for k, v in self._passages.items()}

    def embed(self, text: str) -> np.ndarray:
        return self.embedder.query(text)

    def rank(self, text: str, lang: str, vector: np.ndarray | None = None) -> Ranking:
        return self.features.rank(self.embed(text) if vector is None else vector, text, lang)

    def spelling_overlap(self, text: str, candidates: list[str]) -> dict[str, float]:
        """Cosine of the character n-gram vectors of `text` and each candidate text (0..1)."""
        chars = self.features.char_classifier
        q_index, q_values = chars.features(text)
        query = dict(zip(q_index.tolist(), q_values.tolist(), strict=True))
        out = {}
        for candidate in candidates:
            index, values = chars.features(candidate)
            out[candidate] = float(sum(query.get(i, 0.0) * v for i, v in zip(index.tolist(), values.tolist(), strict=True)))
        return out

    def passages(self, topic_id: str, lang: str, vector: np.ndarray) -> list[tuple[str, float]]:
        """A topic's passages in one language, most similar to the question first."""
        rows = self._passages.get((topic_id, lang))
        if rows is None or not len(rows):
            return []
        sims = self.vectors[rows] @ vector
        order = np.argsort(-sims, kind="stable")
        return [(self.docs[rows[i]].text, float(sims[i])) for i in order]
