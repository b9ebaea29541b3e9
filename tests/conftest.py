"""Shared fixtures. The real stack (Rasa, action server, web app) is prepared and started once
per test run and shared by every test that asks for `stack` or `chat`."""

from __future__ import annotations

import shutil
import socket
from pathlib import Path

import pytest
import requests

import settings
from knowledge.loader import load_knowledge

ROOT = settings.ROOT


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def kb():
    base, issues = load_knowledge(settings.KNOWLEDGE_DIR, settings.TOPICS_CONTRACT)
    assert base is not None, "\n".join(str(i) for i in issues if i.level == "error")
    return base


@pytest.fixture()
def knowledge_copy(tmp_path) -> Path:
    """A private copy of knowledge/ that a test may edit or break."""
    target = tmp_path / "knowledge"
    shutil.copytree(settings.KNOWLEDGE_DIR, target, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    return target


@pytest.fixture(scope="session")
def stack(tmp_path_factory):
    """The real assistant on free ports, with its own tracker database."""
    from scripts.stack import Stack, prepare

    model = prepare()
    run_dir = tmp_path_factory.mktemp("stack")
    s = Stack(web_port=free_port(), rasa_port=free_port(), actions_port=free_port(),
              extra_env={"MOVE_TRACKER_DB": str(run_dir / "tracker.db")})
    s.start(model)
    try:
        s.wait_healthy(timeout=300)
        yield s
    finally:
        s.stop()


class ChatClient:
    def __init__(self, base_url: str):
        self.base_url = base_url
        self.http = requests.Session()

    def post(self, body: dict) -> requests.Response:
        return self.http.post(self.base_url + "/api/chat", json=body, timeout=60)

    def say(self, message: str, session: str | None = None, lang: str | None = None, payload: str | None = None) -> dict:
        body = {"message": message} if payload is None else {"payload": payload}
        if session:
            body["session"] = session
        if lang:
            body["lang"] = lang
        response = self.post(body)
        assert response.status_code == 200, response.text
        return response.json()


@pytest.fixture(scope="session")
def chat(stack) -> ChatClient:
    return ChatClient(stack.urls["web"])
