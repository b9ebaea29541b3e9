"""The conversation so far, as a lead stores it: [{"who": "user"|"bot", "text", "at"}].

Built from the tracker's events of the current session. A button press is shown with the
button's title (what the mover saw and clicked), not as its payload. The lead store masks
email addresses, phone numbers and identity numbers before it saves the copy.
"""

from __future__ import annotations

from datetime import UTC, datetime

MAX_ITEMS = 300


def _at(event: dict) -> str | None:
    stamp = event.get("timestamp")
    if not isinstance(stamp, int | float):
        return None
    return datetime.fromtimestamp(stamp, UTC).isoformat(timespec="seconds")


def _bot_message(event: dict) -> tuple[str | None, list[dict]]:
    data = event.get("data") or {}
    custom = data.get("custom") if isinstance(data.get("custom"), dict) else {}
    text = event.get("text") or custom.get("text")
    buttons = custom.get("buttons") or data.get("buttons") or []
    return (text if isinstance(text, str) else None), [b for b in buttons if isinstance(b, dict)]


def build_transcript(events: list[dict], max_items: int = MAX_ITEMS) -> list[dict]:
    """The user's and the bot's messages since the session started, oldest first."""
    start = max((i for i, e in enumerate(events) if e.get("event") == "session_started"), default=-1)
    items: list[dict] = []
    titles: dict[str, str] = {}  # payload -> title of the buttons the bot offered so far
    for event in events[start + 1:]:
        kind = event.get("event")
        if kind == "user":
            text = (event.get("text") or "").strip()
            if not text:
                continue
            if text.startswith("/"):
                text = f"[{titles[text]}]" if text in titles else f"[{text[1:]}]"
            items.append({"who": "user", "text": text, "at": _at(event)})
        elif kind == "bot":
            text, buttons = _bot_message(event)
            if text:
                items.append({"who": "bot", "text": text, "at": _at(event)})
            for button in buttons:
                if isinstance(button.get("payload"), str) and isinstance(button.get("title"), str):
                    titles[button["payload"]] = button["title"]
    return items[-max_items:]
