"""Talk to the Rasa server over loopback: its REST channel and its health."""

from __future__ import annotations

import requests
from flask import current_app

_session = requests.Session()


class RasaUnavailable(Exception):
    pass


def send(sender: str, message: str, metadata: dict) -> list[dict]:
    url = current_app.config["RASA_URL"].rstrip("/") + "/webhooks/rest/webhook"
    try:
        response = _session.post(url, json={"sender": sender, "message": message, "metadata": metadata},
                                 timeout=current_app.config["RASA_TIMEOUT_S"])
    except requests.RequestException as exc:
        raise RasaUnavailable(str(exc)) from exc
    if response.status_code != 200:
        raise RasaUnavailable(f"Rasa answered {response.status_code}")
    data = response.json()
    if not isinstance(data, list):
        raise RasaUnavailable("unexpected answer from Rasa")
    return data


def start_new_session(sender: str) -> None:
    """Start a new Rasa session for this conversation, as Rasa does after a pause: its slots (the
    language, the last topic) carry over, and later turns load only the new session's events."""
    try:
        send(sender, "/session_start", {})
    except RasaUnavailable as exc:  # the next turn simply continues the old session
        current_app.logger.warning("could not start a new Rasa session: %s", exc)


def probe(url: str, timeout: float = 2.0) -> dict:
    try:
        response = _session.get(url, timeout=timeout)
        return {"status": "ok" if response.status_code == 200 else "error", "http": response.status_code}
    except requests.RequestException as exc:
        return {"status": "down", "detail": type(exc).__name__}
