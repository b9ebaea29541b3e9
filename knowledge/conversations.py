"""Replay scripted conversations (tests/conversations/<lang>.yml) through the live chat API and
check every turn's expectations (the format is in tests/conversations/README.md).

Used by tests/test_conversations.py (every turn must hold) and by `python -m knowledge.eval`
(the share of turns handled per language).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import requests
import yaml

import settings

CONVERSATIONS_DIR = settings.ROOT / "tests" / "conversations"
KNOWN_KEYS = {"topic", "topic_any", "decision", "act", "handoff", "form_cancelled", "declined", "emergency", "contains_any",
              "lang", "not_repeated"}
TOPIC_DECISIONS = ("answer", "details")


@dataclass
class TurnResult:
    conversation: str
    lang: str
    index: int
    user: str
    expect: dict
    failures: list[str] = field(default_factory=list)
    reply: list[dict] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures

    @property
    def kinds(self) -> set[str]:
        """What this turn tests, for the summary: emergency, no_emergency, handoff, or turn."""
        kinds = {"turn"}
        if self.expect.get("emergency") is True:
            kinds.add("emergency")
        if self.expect.get("emergency") is False:
            kinds.add("no_emergency")
        if self.expect.get("handoff"):
            kinds.add("handoff")
        return kinds


def load(paths: list[Path] | None = None) -> list[dict]:
    paths = paths or sorted(CONVERSATIONS_DIR.glob("*.yml"))
    conversations = []
    for path in paths:
        for number, conv in enumerate(yaml.safe_load(path.read_text(encoding="utf-8")) or [], 1):
            if conv.get("lang") not in settings.LANGUAGES or not conv.get("turns"):
                raise ValueError(f"{path}: conversation {number} needs a lang and turns")
            for turn in conv["turns"]:
                unknown = set(turn.get("expect") or {}) - KNOWN_KEYS
                if not turn.get("expect") or unknown:
                    raise ValueError(f"{path}: {conv.get('name')!r}: every turn needs an expect with known keys (unknown: {unknown})")
            conversations.append({**conv, "file": path.name})
    return conversations


def check(expect: dict, reply: list[dict], previous: list[dict] | None, lang: str) -> list[str]:
    """The expectations that do not hold for this reply (empty when the turn is handled)."""
    failures = []
    first = reply[0] if reply else {}
    texts = " ".join(m.get("text", "") for m in reply)
    decision, topic = first.get("decision"), first.get("topic")

    def about(topics: list[str]) -> bool:
        if decision in TOPIC_DECISIONS and topic in topics:
            return True
        return decision == "clarify" and any(t in topics for t in first.get("candidates") or [])

    if "topic" in expect and not about([expect["topic"]]):
        failures.append(f"topic {expect['topic']}: got {decision}/{topic} {first.get('candidates')}")
    if "topic_any" in expect and not about(list(expect["topic_any"])):
        failures.append(f"topic_any {expect['topic_any']}: got {decision}/{topic}")
    if "decision" in expect and decision != expect["decision"]:
        failures.append(f"decision {expect['decision']}: got {decision}/{topic}")
    if "act" in expect and first.get("act") != expect["act"]:
        failures.append(f"act {expect['act']}: got {decision}/{first.get('act')}")
    if expect.get("handoff") and not any(m.get("decision") == "handoff" for m in reply):
        failures.append(f"handoff: got {decision}/{topic}")
    if expect.get("form_cancelled") and not any(m.get("decision") == "form_cancelled" for m in reply):
        failures.append(f"form_cancelled: got {decision}")
    if expect.get("declined") and (topic is not None or decision not in ("out_of_scope", "decline", "clarify")):
        failures.append(f"declined: got {decision}/{topic}")
    if "emergency" in expect and ("112" in texts) != bool(expect["emergency"]):
        failures.append(f"emergency {expect['emergency']}: got {decision} {texts[:80]!r}")
    if "contains_any" in expect and not any(s.casefold() in texts.casefold() for s in expect["contains_any"]):
        failures.append(f"contains_any {expect['contains_any']}: got {decision}/{topic} {texts[:100]!r}")
    want_lang = expect.get("lang", lang)
    if reply and any(m.get("lang") != want_lang for m in reply):
        failures.append(f"lang {want_lang}: got {[m.get('lang') for m in reply]}")
    if expect.get("not_repeated") and previous and texts == " ".join(m.get("text", "") for m in previous):
        failures.append("not_repeated: the same reply again")
    if not reply:
        failures.append("no reply")
    return failures


def replay(base_url: str, conv: dict, http: requests.Session | None = None) -> list[TurnResult]:
    http = http or requests.Session()
    session, previous, results = None, None, []
    for index, turn in enumerate(conv["turns"]):
        body = {"message": turn["user"]}
        if session:
            body["session"] = session
        if conv.get("ui_lang"):
            body["lang"] = conv["ui_lang"]
        response = http.post(base_url + "/api/chat", json=body, timeout=60)
        result = TurnResult(conv["name"], conv["lang"], index, turn["user"], turn["expect"])
        if response.status_code != 200:
            result.failures.append(f"HTTP {response.status_code}")
        else:
            data = response.json()
            session = data.get("session") or session
            result.reply = data.get("messages") or []
            result.failures = check(turn["expect"], result.reply, previous, conv["lang"])
            previous = result.reply
        results.append(result)
    return results


def summary(results: list[TurnResult]) -> dict[str, dict]:
    """Per language: turns handled, emergencies answered with 112, short replies without it, handoffs."""
    out: dict[str, dict] = {}
    for lang in settings.LANGUAGES:
        mine = [r for r in results if r.lang == lang]
        if not mine:
            continue

        def share(kind: str, ok, mine: list[TurnResult] = mine) -> float | None:
            items = [r for r in mine if kind in r.kinds]
            return round(100 * sum(map(ok, items)) / len(items), 1) if items else None

        def texts(r: TurnResult) -> str:
            return " ".join(m.get("text", "") for m in r.reply)

        out[lang] = {"conversations": len({r.conversation for r in mine}), "turns": len(mine),
                     "handled": share("turn", lambda r: r.ok),
                     "emergency_112": share("emergency", lambda r: "112" in texts(r)),
                     "no_112_when_not_asked": share("no_emergency", lambda r: "112" not in texts(r)),
                     "handoff_started": share("handoff", lambda r: any(m.get("decision") == "handoff" for m in r.reply))}
    return out

