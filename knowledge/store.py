"""The live knowledge base of a running service, reloaded when an editor changes a file.

A file that fails validation is rejected with a logged error; the service keeps serving the
last good version until the files are fixed.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

import settings
from knowledge.loader import KnowledgeBase, KnowledgeError, knowledge_files, load_knowledge

log = logging.getLogger(__name__)


def _snapshot(root: Path) -> tuple:
    stamp = []
    for path in knowledge_files(root):
        try:
            st = path.stat()
            stamp.append((path.name, st.st_mtime_ns, st.st_size))
        except FileNotFoundError:
            stamp.append((path.name, None, None))
    return tuple(stamp)


class KnowledgeStore:
    """Holds the current KnowledgeBase; `get()` is cheap and checks for edits at most every
    `interval` seconds. Listeners are called with the new base after a successful reload."""

    def __init__(self, root: Path | None = None, contract: Path | None = None, interval: float | None = None):
        self.root = root or settings.KNOWLEDGE_DIR
        self.contract = contract if contract is not None else settings.TOPICS_CONTRACT
        self.interval = settings.KNOWLEDGE_RELOAD_INTERVAL_S if interval is None else interval
        self._lock = threading.Lock()
        self._listeners: list = []
        self._checked_at = 0.0
        self._stamp = _snapshot(self.root)
        self.last_error: str | None = None
        kb, issues = load_knowledge(self.root, self.contract, review_after_months=settings.REVIEW_AFTER_MONTHS)
        if kb is None:
            raise KnowledgeError(issues)
        self._kb = kb

    def on_reload(self, listener) -> None:
        self._listeners.append(listener)

    def get(self) -> KnowledgeBase:
        now = time.monotonic()
        if now - self._checked_at >= self.interval:
            with self._lock:
                if now - self._checked_at >= self.interval:
                    self._checked_at = now
                    self._reload_if_changed()
        return self._kb

    def _reload_if_changed(self) -> None:
        stamp = _snapshot(self.root)
        if stamp == self._stamp:
            return
        self._stamp = stamp
        kb, issues = load_knowledge(self.root, self.contract, review_after_months=settings.REVIEW_AFTER_MONTHS)
        if kb is None:
            errors = [str(i) for i in issues if i.level == "error"]
            self.last_error = f"{len(errors)} error(s); kept the last good knowledge base: " + "; ".join(errors[:5])
            log.error("knowledge reload rejected: %s", self.last_error)
            return
        self.last_error = None
        if kb.fingerprint == self._kb.fingerprint:
            return
        for listener in self._listeners:
            try:
                listener(kb)
            except Exception:
                log.exception("knowledge reload rejected: a listener failed; kept the last good version")
                return
        self._kb = kb
        log.info("knowledge reloaded (%d topics, fingerprint %s)", len(kb.topics), kb.fingerprint)
