"""The web app's view of the knowledge base (topic titles, phrases), reloaded on edits."""

from __future__ import annotations

from flask import Flask, current_app

from knowledge.loader import KnowledgeBase
from knowledge.store import KnowledgeStore


def init_knowledge(app: Flask) -> None:
    app.extensions["knowledge"] = KnowledgeStore(
        root=app.config.get("KNOWLEDGE_DIR"), contract=app.config.get("TOPICS_CONTRACT")
    )


def store() -> KnowledgeStore:
    return current_app.extensions["knowledge"]


def kb() -> KnowledgeBase:
    return store().get()
