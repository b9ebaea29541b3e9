"""The action server's shared state: the live knowledge base and the retriever built on it.

Loaded once per process on first use; a knowledge edit rebuilds the retriever (re-embedding
only texts that changed) before the new version is served.
"""

from __future__ import annotations

import functools
import logging

from threadpoolctl import threadpool_limits

import settings
from knowledge import langid
from knowledge.decide import DecisionConfig
from knowledge.loader import KnowledgeBase
from knowledge.retrieval import Embedder, Retriever
from knowledge.store import KnowledgeStore

log = logging.getLogger(__name__)


class Runtime:
    def __init__(self) -> None:
        # numpy's BLAS threads too: one similarity product per question is tiny, and idle BLAS
        # threads spinning against the other processes made it ~20x slower under load.
        threadpool_limits(settings.TORCH_THREADS)
        self.store = KnowledgeStore()
        self.embedder = Embedder(settings.EMBEDDING_MODEL)
        self.decision = DecisionConfig.load()
        self._retriever = Retriever(self.store.get(), self.embedder, settings.INDEX_DIR, c=self.decision.classifier_c)
        langid.detect("warm up the language models before the first question")
        self.store.on_reload(self._rebuild)

    def _rebuild(self, kb: KnowledgeBase) -> None:
        self._retriever = Retriever(kb, self.embedder, settings.INDEX_DIR, c=self.decision.classifier_c)

    @property
    def kb(self) -> KnowledgeBase:
        return self.store.get()

    @property
    def retriever(self) -> Retriever:
        self.store.get()  # picks up edits first
        return self._retriever


@functools.cache
def runtime() -> Runtime:
    return Runtime()
