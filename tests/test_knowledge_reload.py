"""Editors' changes reach a running service without a restart; broken edits do not."""

from __future__ import annotations

import logging
import os
import time

import settings
from knowledge.store import KnowledgeStore


def _touch_later(path):
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 2_000_000_000))


def test_edited_answer_title_and_source_are_served_after_reload(knowledge_copy):
    store = KnowledgeStore(knowledge_copy, settings.TOPICS_CONTRACT, interval=0)
    path = knowledge_copy / "topics" / "housing.rent.yml"
    text = path.read_text(encoding="utf-8")
    old = store.get().topics["housing.rent"]
    text = text.replace(old.en.title, "Renting a flat (edited)", 1)
    text = text.replace(old.sources[0].url, "https://www.lulebo.se/edited", 1)
    path.write_text(text, encoding="utf-8")
    _touch_later(path)
    new = store.get().topics["housing.rent"]
    assert new.en.title == "Renting a flat (edited)"
    assert new.sources[0].url == "https://www.lulebo.se/edited"
    assert store.last_error is None


def test_broken_edit_keeps_the_last_good_version_and_logs_an_error(knowledge_copy, caplog):
    store = KnowledgeStore(knowledge_copy, settings.TOPICS_CONTRACT, interval=0)
    good = store.get()
    path = knowledge_copy / "topics" / "housing.rent.yml"
    path.write_text(path.read_text(encoding="utf-8").replace("owner: ", "owner: [", 1), encoding="utf-8")
    _touch_later(path)
    with caplog.at_level(logging.ERROR):
        served = store.get()
    assert served is good
    assert store.last_error and "housing.rent.yml" in store.last_error
    assert any("knowledge reload rejected" in r.message for r in caplog.records)
    # fixing the file brings edits back
    path.write_text(path.read_text(encoding="utf-8").replace("owner: [", "owner: ", 1), encoding="utf-8")
    _touch_later(path)
    time.sleep(0.01)
    assert store.get().fingerprint == good.fingerprint
    assert store.last_error is None


def test_listener_failure_keeps_the_old_version(knowledge_copy):
    store = KnowledgeStore(knowledge_copy, settings.TOPICS_CONTRACT, interval=0)
    good = store.get()

    def failing(_kb):
        raise RuntimeError("index build failed")

    store.on_reload(failing)
    path = knowledge_copy / "topics" / "housing.rent.yml"
    path.write_text(path.read_text(encoding="utf-8").replace("owner: Team", "owner: The Team", 1), encoding="utf-8")
    _touch_later(path)
    assert store.get() is good


def test_index_rebuild_after_an_edit_embeds_only_the_changed_text(knowledge_copy, tmp_path, kb, embedder, monkeypatch):
    """Editing one answer must not re-embed the whole knowledge base (which takes a minute)."""
    import shutil

    import numpy as np

    from knowledge.loader import load_knowledge
    from knowledge.retrieval import dense_matrix, documents

    index_dir = tmp_path / "index"
    index_dir.mkdir()
    dense_matrix(kb, embedder, settings.INDEX_DIR)  # make sure the shared index exists
    for cached in settings.INDEX_DIR.glob(f"dense-{kb.fingerprint}-{embedder.key}.npz"):
        shutil.copy(cached, index_dir)

    path = knowledge_copy / "topics" / "admin.taxes.yml"
    path.write_text(path.read_text(encoding="utf-8").replace("  answer: |-\n", "  answer: |-\n    A new first sentence.\n", 1), encoding="utf-8")
    edited, _ = load_knowledge(knowledge_copy, settings.TOPICS_CONTRACT)
    calls = []
    original_encode = embedder.encode
    monkeypatch.setattr(embedder, "encode", lambda texts, progress=False: calls.append(list(texts)) or original_encode(texts, progress))

    vectors = dense_matrix(edited, embedder, index_dir)

    # the answer changed, and so did its first paragraph (a passage follow-ups are answered from)
    assert [len(batch) for batch in calls] == [2]
    assert all(t.startswith("passage: ") and "A new first sentence." in t for t in calls[0])
    docs = documents(edited)
    changed = next(i for i, d in enumerate(docs) if d.kind == "answer" and "A new first sentence." in d.text)
    text = next(t for t in calls[0] if t.startswith("passage: " + docs[changed].text[:20]))
    assert np.allclose(vectors[changed], original_encode([text])[0], atol=1e-5)
