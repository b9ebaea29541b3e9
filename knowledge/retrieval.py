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
from dataclasses import dataclass
from pathlib import Path

import bm25s
import numpy as np

import settings
from knowledge import textnorm
from knowledge.loader import KnowledgeBase
from settings import LANGUAGES

log = logging.getLogger(__name__)

OOS_PREFIX = "oos:"


@dataclass(frozen=True)
class Doc:
    owner: str  # a topic id, or "oos:<category>"
    lang: str
    kind: str  # question | title | answer | oos
    text: str


def documents(kb: KnowledgeBase) -> list[Doc]:
    docs: list[Doc] = []
    for topic in kb.topics.values():
        for lang in LANGUAGES:
            entry = topic.entry(lang)
            docs.append(Doc(topic.id, lang, "title", entry.title))
            docs.append(Doc(topic.id, lang, "answer", f"{entry.title}. {entry.answer}"))
            docs.extend(Doc(topic.id, lang, "question", q) for q in entry.questions)
    for name, category in kb.out_of_scope.categories.items():
        for lang, examples in category.examples.items():
            docs.extend(Doc(OOS_PREFIX + name, lang, "oos", q) for q in examples)
    return docs


def _embed_text(doc: Doc) -> str:
    return ("passage: " if doc.kind == "answer" else "query: ") + doc.text


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


class Retriever:
    def __init__(self, kb: KnowledgeBase, embedder: Embedder, index_dir: Path, progress: bool = False):
        self.kb = kb
        self.embedder = embedder
        self.docs = documents(kb)
        self.vectors = dense_matrix(kb, embedder, index_dir, progress)
        self.topic_ids = list(kb.topics)
        owners = [d.owner for d in self.docs]
        self._topic_rows = {t: np.array([i for i, o in enumerate(owners) if o == t]) for t in self.topic_ids}
        self._oos_rows = np.array([i for i, o in enumerate(owners) if o.startswith(OOS_PREFIX)])
        self._bm25 = {lang: self._build_bm25(lang) for lang in LANGUAGES}

    def _build_bm25(self, lang: str) -> bm25s.BM25:
        corpus = []
        for topic_id in self.topic_ids:
            entry = self.kb.topics[topic_id].entry(lang)
            text = " ".join([entry.title, entry.title, entry.answer, *entry.questions])
            corpus.append(textnorm.terms(text, lang))
        index = bm25s.BM25()
        index.index(corpus, show_progress=False)
        return index

    def rank(self, text: str, lang: str) -> Ranking:
        sims = self.vectors @ self.embedder.query(text)
        dense = {t: float(sims[rows].max()) for t, rows in self._topic_rows.items()}
        oos_best = -1.0
        oos_category = None
        if len(self._oos_rows):
            best = int(self._oos_rows[np.argmax(sims[self._oos_rows])])
            oos_best = float(sims[best])
            oos_category = self.docs[best].owner.removeprefix(OOS_PREFIX)
        lexical, lexical_top = self._lexical(text, lang)
        return Ranking(dense, lexical, lexical_top, oos_best, oos_category)

    def _lexical(self, text: str, lang: str) -> tuple[dict[str, float], float]:
        query = textnorm.terms(text, lang)
        scores = self._bm25[lang].get_scores(query) if query else np.zeros(len(self.topic_ids))
        top = float(scores.max())
        if top <= 0:
            return {t: 0.0 for t in self.topic_ids}, 0.0
        return {t: float(s) / top for t, s in zip(self.topic_ids, scores, strict=True)}, top
