"""Bounded load and soak run on the production profile (`make soak`).

    python -m scripts.soak [--conversations 50] [--minutes 10] [--warmup-seconds 60]
                           [--profile production] [--report var/soak/report.json]

It starts its own assistant on free loopback ports with fresh, empty stores: on the production
profile two new PostgreSQL databases (tracker store and app database) on the server of
MOVE_SOAK_POSTGRES_URL and an empty Redis database (1-15) on MOVE_SOAK_REDIS_URL for Rasa's lock
store and the rate-limit counters; Rasa and the web app with two workers each; new-lead emails go
to a local SMTP sink. Every conversation comes from 127.0.0.1, so the chat rate limits are off for
the run (the report says so). Everything is dropped or emptied afterwards.

Then N conversations run at once until the time is up, a finished one replaced by a new one: each
in one of the five languages (as the widget sends it), a few turns with a short think time:
questions from the knowledge base, buttons of the replies (more details, related topics), small
talk, out-of-scope questions, and a share of contact handoffs that fill in the whole form and give
consent, so each of those must leave exactly one lead in the app database.

It reports turns, errors by kind (HTTP status other than 200, empty replies, exceptions),
p50/p95/p99 per minute and overall, throughput, RSS/PSS of each process tree at start, after the
warm-up, every minute and at the end, memory growth (end minus after warm-up), leads stored against
leads expected and the events in the tracker store. Latency is not judged; the exit code is 1 when
any turn failed or an expected lead is missing or stored twice. Timings depend on what else runs on the machine.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import itertools
import json
import math
import os
import random
import re
import secrets
import shutil
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

import requests
from tqdm import tqdm

import settings
from scripts.bench import ChatApi, load_knowledge_base, load_questions, machine_info, memory_of, summary
from scripts.stack import Stack, free_port, prepare
from scripts.stores import fresh_production_stores

SOAK_DIR = settings.VAR_DIR / "soak"
ERROR_KINDS = ("http_status", "empty_reply", "exception")
NO_RATE_LIMITS = {"MOVE_CHAT_RATE_LIMIT_IP": "off", "MOVE_CHAT_RATE_LIMIT_SESSION": "off"}

# What simulated movers type besides questions (the conversation-level intents of bot/data/nlu.yml).
SMALL_TALK = {
    "en": {"greet": ["hi", "hello", "good morning"], "bye": ["thanks", "thank you", "bye", "goodbye"]},
    "sv": {"greet": ["hej", "hejsan", "god morgon"], "bye": ["tack", "tack så mycket", "hej då", "ha det bra"]},
    "pl": {"greet": ["cześć", "dzień dobry", "witam"], "bye": ["dziękuję", "dzięki", "do widzenia", "pa pa"]},
    "lt": {"greet": ["labas", "laba diena", "sveiki"], "bye": ["ačiū", "labai ačiū", "viso gero", "iki"]},
    "lv": {"greet": ["sveiki", "labdien", "labrīt"], "bye": ["paldies", "liels paldies", "uz redzēšanos", "visu labu"]},
}
# Who fills in the contact form in each language: name, country, profession, email domain.
MOVERS = {
    "en": ("Daniel Murphy", "Ireland", "software developer", "example.ie"),
    "sv": ("Sara Lindqvist", "Finland", "sjuksköterska", "example.fi"),
    "pl": ("Agnieszka Wiśniewska", "Polska", "pielęgniarka", "example.pl"),
    "lt": ("Ona Petraitienė", "Lietuva", "slaugytoja", "example.lt"),
    "lv": ("Līga Bērziņa", "Latvija", "inženiere", "example.lv"),
}
TALK_TO_PERSON = "/talk_to_person"
# Each turn on a new connection, as a reverse proxy in front of gunicorn opens them (nginx by default):
# a kept-alive connection idle for the think time races with gunicorn's 2 s keep-alive timeout, and a
# request sent just as gunicorn closes it fails with "connection reset" (a client-side artefact).
CONNECTIONS = "one per turn (Connection: close), as a reverse proxy in front of gunicorn opens them"


def _reference_pattern() -> re.Pattern:
    from web.leads.service import REFERENCE_ALPHABET, REFERENCE_PREFIX

    return re.compile(re.escape(REFERENCE_PREFIX) + f"[{REFERENCE_ALPHABET}]{{4}}")


@dataclass(frozen=True)
class Options:
    """How big the run is. The defaults are the issue's soak: 50 conversations for 10 minutes."""

    conversations: int = 50
    seconds: float = 600.0            # measured time, after the warm-up
    warmup_s: float = 60.0            # load at full concurrency first, not in the latency figures
    profile: str = "production"
    think_s: tuple[float, float] = (0.5, 2.5)  # pause before each turn (reading, typing)
    lead_share: float = 0.1           # share of conversations that hand over a lead with consent
    web_workers: int = 2
    rasa_workers: int = 2
    seed: int = 1


# ---------------------------------------------------------------- fresh stores for one run

@contextlib.contextmanager
def fresh_stores(profile: str, run_dir: Path) -> Iterator[dict]:
    """Empty, migrated stores for the run, removed afterwards. Production: a tracker and an app
    database on MOVE_SOAK_POSTGRES_URL's server and an empty Redis database (scripts/stores.py);
    development: SQLite files in `run_dir` and in-memory rate-limit counters. Yields the stack's
    environment and URLs."""
    from web.leads import db
    from web.leads.migrate import upgrade

    if profile == "development":
        app_url = f"sqlite:///{run_dir / 'app.db'}"
        upgrade(app_url)
        try:
            yield {"env": {"MOVE_TRACKER_DB": str(run_dir / "tracker.db"), "MOVE_DATABASE_URL": app_url},
                   "tracker_url": f"sqlite:///{run_dir / 'tracker.db'}", "app_url": app_url,
                   "described": {"tracker": "SQLite file", "app": "SQLite file", "redis": None, "removed_after_run": True}}
        finally:
            db.dispose(app_url)
        return
    with fresh_production_stores("move_soak", settings.SOAK_POSTGRES_URL, settings.SOAK_REDIS_URL) as stores:
        names = stores.databases
        yield {"env": stores.env, "tracker_url": stores.tracker_sqlalchemy_url, "app_url": stores.app_url,
               "described": {"tracker": f"PostgreSQL database {names['tracker']}", "app": f"PostgreSQL database {names['app']}",
                             "redis": f"Redis database {stores.redis_db} (lock store and rate-limit counters)",
                             "postgresql_databases": list(names.values()), "redis_db": stores.redis_db,
                             "removed_after_run": True}}


class MailSink:
    """The handler of a local SMTP server (aiosmtpd) that counts the new-lead emails it receives."""

    def __init__(self):
        self.received = 0

    async def handle_DATA(self, server, session, envelope):
        self.received += 1
        return "250 OK"


# ---------------------------------------------------------------- what the movers say

@dataclass(frozen=True)
class Step:
    kind: str             # question | button | small_talk | out_of_scope | lead_form
    text: str | None      # typed text, or a payload ("/..."); None: press a button of the last reply
    consent: bool = False  # the consent of a handoff: a lead must be stored after it


@dataclass(frozen=True)
class Script:
    index: int
    kind: str             # chat | lead
    lang: str
    steps: tuple[Step, ...]


def is_lead(index: int, share: float) -> bool:
    """Spread the handoffs evenly over the conversations (index 9, 19, 29 ... for 0.1)."""
    return math.floor((index + 1) * share) > math.floor(index * share)


def handoff(index: int, lang: str, run_id: str) -> list[Step]:
    """From the answer's "talk to a person" button through the whole contact form to consent."""
    name, country, profession, domain = MOVERS[lang]
    said = [name, f"soak.{run_id}.{index}@{domain}", "/skip", country, profession, '/inform{"help_topic":"work"}',
            '/inform{"help_topic":"housing"}', "/done", '/inform{"household":"partner"}', '/inform{"move_when":"half_year"}',
            f'/inform{{"preferred_language":"{lang}"}}', "/skip", "/affirm"]
    return [Step("button", TALK_TO_PERSON), *(Step("lead_form", s) for s in said), Step("lead_form", "/affirm", consent=True)]


def plan_conversation(index: int, rng: random.Random, questions: dict[str, list[str]], off_topic: dict[str, list[str]],
                      lead_share: float, run_id: str) -> Script:
    """Conversation `index`: the languages take turns (and, separately, among the handoffs)."""
    lead = is_lead(index, lead_share)
    languages = settings.LANGUAGES
    leads_so_far = math.floor((index + 1) * lead_share)  # handoffs among conversations 0..index
    lang = languages[(leads_so_far if lead else index + 1 - leads_so_far) % len(languages)]
    talk = SMALL_TALK[lang]
    steps = [Step("small_talk", rng.choice(talk["greet"]))] if rng.random() < 0.3 else []
    if lead:
        kind = "lead"
        steps += [Step("question", rng.choice(questions[lang])), *handoff(index, lang, run_id)]
    else:
        kind = "chat"
        for _ in range(rng.randint(2, 4)):
            roll = rng.random()
            if roll < 0.15:
                steps.append(Step("out_of_scope", rng.choice(off_topic[lang])))
            elif roll < 0.45 and steps and steps[-1].kind in ("question", "button"):
                steps.append(Step("button", None))
            else:
                steps.append(Step("question", rng.choice(questions[lang])))
    if rng.random() < 0.4:
        steps.append(Step("small_talk", rng.choice(talk["bye"])))
    return Script(index, kind, lang, tuple(steps))


def pick_button(messages: list[dict], rng: random.Random) -> str | None:
    """A button of the last reply a reader might press (not the contact form: that is a handoff)."""
    payloads = [b.get("payload") for m in messages for b in m.get("buttons") or []]
    payloads = [p for p in payloads if p and p != TALK_TO_PERSON]
    return rng.choice(payloads) if payloads else None


# ---------------------------------------------------------------- the run

@dataclass
class Recorder:
    """Everything the conversations observed, shared by the worker threads."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    turns: list[tuple[float, float, str]] = field(default_factory=list)   # (end offset s, latency ms, step kind)
    errors: list[tuple[float, str, str, str]] = field(default_factory=list)  # (offset s, kind, detail, example)
    conversations: Counter = field(default_factory=Counter)
    lead_sessions: list[str] = field(default_factory=list)
    leads_confirmed: int = 0

    def count(self, key: str) -> None:
        with self.lock:
            self.conversations[key] += 1


class Soak:
    def __init__(self, options: Options, web_url: str, questions: dict, off_topic: dict):
        self.options, self.questions, self.off_topic = options, questions, off_topic
        self.api = ChatApi(web_url)
        self.rec = Recorder()
        self.stop = threading.Event()
        self.claim = itertools.count()
        self.claim_lock = threading.Lock()
        self.run_id = uuid.uuid4().hex[:6]
        self.reference = _reference_pattern()
        self.t0 = time.monotonic()
        self.deadline = self.t0 + options.warmup_s + options.seconds

    def now(self) -> float:
        return time.monotonic() - self.t0

    def worker(self, number: int) -> None:
        http = requests.Session()
        http.headers["Connection"] = "close"  # see CONNECTIONS
        rng = random.Random(self.options.seed * 100_003 + number)
        while not self.stop.is_set() and time.monotonic() < self.deadline:
            with self.claim_lock:
                index = next(self.claim)
            script = plan_conversation(index, random.Random(f"{self.options.seed}-{index}"), self.questions, self.off_topic,
                                       self.options.lead_share, self.run_id)
            self.rec.count("started")
            self.rec.count(f"kind:{script.kind}")
            self.rec.count(f"lang:{script.lang}")
            self.rec.count(self.converse(script, http, rng))

    def converse(self, script: Script, http: requests.Session, rng: random.Random) -> str:
        """Send the script's turns with a think time before each; how the conversation ended."""
        session, messages = None, []
        for step in script.steps:
            if self.stop.wait(rng.uniform(*self.options.think_s)) or time.monotonic() >= self.deadline:
                return "cut_at_end"
            said, kind = step.text, step.kind
            if said is None:  # press one of the last reply's buttons, or ask a question when it had none
                said = pick_button(messages, rng)
                if said is None:
                    said, kind = rng.choice(self.questions[script.lang]), "question"
            body = {"payload": said} if said.startswith("/") else {"message": said}
            body["lang"] = script.lang
            if session:
                body["session"] = session
            data = self.send(http, body, kind)
            if data is None:
                return "ended_by_error"
            session, messages = data["session"], data["messages"]
            if step.consent:
                with self.rec.lock:
                    self.rec.lead_sessions.append(session)
                    if any(self.reference.search(m.get("text") or "") for m in messages):
                        self.rec.leads_confirmed += 1
        return "completed"

    def send(self, http: requests.Session, body: dict, kind: str) -> dict | None:
        started = time.perf_counter()
        offset = self.now()
        try:
            response = self.api.post(http, body)
            data = response.json() if response.status_code == 200 else None
        except (requests.RequestException, ValueError) as exc:
            return self.error(offset, "exception", type(exc).__name__, str(exc))
        latency_ms = (time.perf_counter() - started) * 1000
        if response.status_code != 200:
            return self.error(offset, "http_status", f"HTTP {response.status_code}", response.text)
        messages = data.get("messages") if isinstance(data, dict) else None
        if not messages or not isinstance(data.get("session"), str) or not any((m.get("text") or "").strip() for m in messages):
            return self.error(offset, "empty_reply", "no message with text", json.dumps(data, ensure_ascii=False))
        with self.rec.lock:
            self.rec.turns.append((self.now(), latency_ms, kind))
        return data

    def error(self, offset: float, kind: str, detail: str, example: str) -> None:
        with self.rec.lock:
            self.rec.errors.append((offset, kind, detail, example[:300]))
        return None


def run(options: Options, report_path: Path) -> dict:
    """Start the stack on fresh stores, run the conversations, check the leads, write the report."""
    from aiosmtpd.controller import Controller

    SOAK_DIR.mkdir(parents=True, exist_ok=True)
    kb = load_knowledge_base()
    questions = load_questions(kb)
    off_topic = {lang: [q for c in kb.out_of_scope.categories.values() for q in c.examples.get(lang, [])]
                 for lang in settings.LANGUAGES}
    report: dict = {"started_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), "machine": machine_info(),
                    "options": {**asdict(options), "think_s": list(options.think_s)}}
    run_dir = Path(tempfile.mkdtemp(prefix="run-", dir=SOAK_DIR))
    mail = MailSink()
    smtp = Controller(mail, hostname="127.0.0.1", port=free_port())
    try:
        model = prepare()
        with fresh_stores(options.profile, run_dir) as stores:
            smtp.start()
            stack = Stack(web_port=free_port(), rasa_port=free_port(), actions_port=free_port(), profile=options.profile,
                          web_workers=options.web_workers, rasa_workers=options.rasa_workers,
                          extra_env={**stores["env"], **NO_RATE_LIMITS,
                                     "MOVE_SECRET_KEY": secrets.token_urlsafe(32), "MOVE_ACTIONS_TOKEN": secrets.token_urlsafe(24),
                                     "MOVE_SMTP_HOST": "127.0.0.1", "MOVE_SMTP_PORT": str(smtp.port),
                                     "MOVE_LEADS_NOTIFY_TO": "flytta@lulea.se", "MOVE_NOTIFY_INTERVAL_S": "1"})
            report["stack"] = {"profile": options.profile, "web_workers": options.web_workers,
                               "rasa_workers": options.rasa_workers, "stores": stores["described"], "logs": str(settings.LOG_DIR)}
            report["connections"] = CONNECTIONS
            report["rate_limits"] = {**NO_RATE_LIMITS, "note": "the chat rate limits are off for the run: every "
                                     "conversation comes from 127.0.0.1, so the per-address limit would refuse most turns"}
            print(f"==> soak: starting the assistant ({options.profile} profile) on fresh stores", flush=True)
            started = time.perf_counter()
            try:
                stack.start(model)
                stack.wait_healthy(timeout=600)
                report["stack"]["healthy_s"] = round(time.perf_counter() - started, 1)
                soak = Soak(options, stack.urls["web"], questions, off_topic)
                memory = drive(soak, stack)
            finally:
                stack.stop()
            report.update(results(soak, memory, options))
            report["leads"] = {**check_leads(stores["app_url"], soak.rec), "notification_emails_received": mail.received}
            report["tracker_store"] = tracker_events(stores["tracker_url"])
    finally:
        with contextlib.suppress(Exception):
            smtp.stop()
        shutil.rmtree(run_dir, ignore_errors=True)
    report["machine"]["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
    problems = []
    if report["errors"]["total"]:
        problems.append(f"{report['errors']['total']} turn(s) failed")
    if report["leads"]["missing"] or report["leads"]["stored"] < report["leads"]["expected"]:
        problems.append(f"{report['leads']['missing']} expected lead(s) missing")
    if report["leads"]["duplicated"]:
        problems.append(f"{report['leads']['duplicated']} lead(s) stored twice")
    report["ok"], report["problems"] = not problems, problems
    report_path.parent.mkdir(parents=True, exist_ok=True)
    report_path.write_text(json.dumps(report, indent=2, ensure_ascii=False), encoding="utf-8")
    print(table(report))
    print(f"report: {report_path}")
    return report


def drive(soak: Soak, stack: Stack) -> dict:
    """Run the workers until the time is up, with a progress bar; memory at start, after the
    warm-up, at the end of every minute and at the end."""
    options = soak.options
    memory = {"start": memory_of(stack.processes), "after_warmup": None, "per_minute": []}
    total_s = options.warmup_s + options.seconds
    bar = tqdm(total=round(total_s), desc=f"soak x{options.conversations}", dynamic_ncols=True,
               bar_format="{desc}: {bar} {n}/{total} s [{elapsed}<{remaining}]{postfix}")
    soak.t0 = time.monotonic()
    soak.deadline = soak.t0 + total_s
    with ThreadPoolExecutor(max_workers=options.conversations) as pool:
        futures = [pool.submit(soak.worker, i) for i in range(options.conversations)]
        try:
            while time.monotonic() < soak.deadline and not all(f.done() for f in futures):
                soak.stop.wait(1)
                elapsed = soak.now()
                if memory["after_warmup"] is None and elapsed >= options.warmup_s:
                    memory["after_warmup"] = memory_of(stack.processes)
                minute = len(memory["per_minute"]) + 1
                if elapsed >= options.warmup_s + 60 * minute and 60 * minute <= options.seconds:
                    memory["per_minute"].append({"minute": minute, **memory_of(stack.processes)})
                with soak.rec.lock:
                    turns, errors, leads = len(soak.rec.turns), len(soak.rec.errors), len(soak.rec.lead_sessions)
                bar.n = min(round(elapsed), bar.total)
                bar.set_postfix(turns=turns, errors=errors, leads=leads, phase="warm-up" if elapsed < options.warmup_s else "soak")
        finally:
            soak.stop.set()  # thinking workers stop now; those waiting for a reply record it first
            for future in futures:
                future.result()
    bar.n = bar.total
    bar.close()
    memory["after_warmup"] = memory["after_warmup"] or memory_of(stack.processes)
    memory["end"] = memory_of(stack.processes)
    if len(memory["per_minute"]) < math.ceil(options.seconds / 60):
        memory["per_minute"].append({"minute": len(memory["per_minute"]) + 1, **memory["end"]})
    memory["growth"] = growth(memory["after_warmup"], memory["end"])
    memory["note"] = ("RSS growth is what to watch for leaks; PSS splits pages shared with other processes (also other "
                      "stacks on the machine using the same libraries), so it moves when those start or stop")
    return memory


def growth(before: dict, after: dict) -> dict:
    """End minus after warm-up, per process tree and in total, in MB and percent."""
    out = {}
    for name in after:
        row = {}
        for key in ("rss_mb", "pss_mb"):
            delta = after[name][key] - before[name][key]
            row[key] = delta
            row[key.replace("_mb", "_pct")] = round(100 * delta / before[name][key], 1) if before[name][key] else None
        out[name] = row
    return out


def results(soak: Soak, memory: dict, options: Options) -> dict:
    rec, warmup = soak.rec, options.warmup_s
    measured = [(t - warmup, ms) for t, ms, _ in rec.turns if t >= warmup]
    minutes = max(1, math.ceil(options.seconds / 60))
    per_minute = []
    for m in range(minutes):
        lo, hi = 60 * m, min(60 * (m + 1), options.seconds)
        last = m == minutes - 1  # turns answered after the deadline (in flight at the end) count in the last minute
        latencies = [ms for t, ms in measured if lo <= t < hi or (last and t >= hi)]
        errors = [e for e in rec.errors if lo <= e[0] - warmup < hi or (last and e[0] - warmup >= hi)]
        mem = next((r["total"] for r in memory["per_minute"] if r["minute"] == m + 1), {})
        per_minute.append({"minute": m + 1, **summary(latencies), "errors": len(errors),
                           "turns_per_s": round(len(latencies) / (hi - lo), 2) if hi > lo else None,
                           "rss_mb": mem.get("rss_mb"), "pss_mb": mem.get("pss_mb")})
    by_kind = Counter(e[1] for e in rec.errors)
    conv = rec.conversations
    return {
        "turns": {"total": len(rec.turns), "warmup": len(rec.turns) - len(measured), "measured": len(measured),
                  "by_kind": dict(Counter(kind for *_, kind in rec.turns).most_common())},
        "errors": {"total": len(rec.errors), "by_kind": {k: by_kind.get(k, 0) for k in ERROR_KINDS},
                   "by_detail": dict(Counter(e[2] for e in rec.errors).most_common()),
                   "examples": [{"at_s": round(e[0], 1), "kind": e[1], "detail": e[2], "example": e[3]} for e in rec.errors[:5]]},
        "conversations": {"concurrent": options.conversations, "started": conv["started"], "completed": conv["completed"],
                          "ended_by_error": conv["ended_by_error"], "cut_at_end": conv["cut_at_end"],
                          "by_kind": {k.split(":", 1)[1]: v for k, v in sorted(conv.items()) if k.startswith("kind:")},
                          "by_language": {lang: conv[f"lang:{lang}"] for lang in settings.LANGUAGES}},
        "latency": {"overall": summary([ms for _, ms in measured]), "per_minute": per_minute,
                    "note": f"turns after the {warmup:.0f} s warm-up; per minute by the time the reply arrived"},
        "throughput_turns_per_s": round(len(measured) / options.seconds, 2) if options.seconds else None,
        "memory": memory,
    }


def check_leads(app_url: str, rec: Recorder) -> dict:
    """Leads in the app database against the handoffs whose consent was answered."""
    from sqlalchemy import create_engine, text

    engine = create_engine(app_url)
    try:
        with engine.connect() as conn:
            stored = dict(conn.execute(text("SELECT session_id, count(*) FROM leads GROUP BY session_id")).all())
            unsent = conn.scalar(text("SELECT count(*) FROM notification_outbox WHERE sent_at IS NULL"))
    finally:
        engine.dispose()
    expected = set(rec.lead_sessions)
    return {"expected": len(rec.lead_sessions), "stored": sum(stored.values()),
            "missing": len(expected - set(stored)), "duplicated": sum(1 for s in expected if stored.get(s, 0) > 1),
            "confirmed_in_chat": rec.leads_confirmed, "notification_emails_unsent": unsent}


def tracker_events(url: str) -> dict:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            events, senders = conn.execute(text("SELECT count(*), count(DISTINCT sender_id) FROM events")).one()
    finally:
        engine.dispose()
    return {"events": events, "conversations": senders, "store": "SQLite" if url.startswith("sqlite") else "PostgreSQL"}


# ---------------------------------------------------------------- the printed summary

def table(report: dict) -> str:
    o, st, m = report["options"], report["stack"], report["machine"]
    lines = ["", f"Soak {report['started_at']}: {o['conversations']} conversations for {o['seconds'] / 60:g} min after a "
             f"{o['warmup_s']:g} s warm-up, {st['profile']} profile (web {st['web_workers']} gunicorn workers, Rasa {st['rasa_workers']} Sanic workers)",
             f"  think time {o['think_s'][0]:g}-{o['think_s'][1]:g} s; chat rate limits OFF for the run (every conversation "
             f"comes from 127.0.0.1); {m['cpus']} CPUs, load average {m['load_average']} at start, {m['load_average_end']} at end",
             f"  stores: {', '.join(st['stores'][k] for k in ('tracker', 'app', 'redis') if st['stores'][k])} (removed after the run); "
             f"healthy after {st.get('healthy_s')} s",
             "", f"{'minute':>7} {'turns':>6} {'errors':>6} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'turns/s':>8} {'RSS MB':>7} {'PSS MB':>7}"]
    for r in report["latency"]["per_minute"]:
        lines.append(f"{r['minute']:>7} {r['n']:>6} {r['errors']:>6} {r.get('p50_ms', '-'):>8} {r.get('p95_ms', '-'):>8} "
                     f"{r.get('p99_ms', '-'):>8} {r['turns_per_s']!s:>8} {r['rss_mb']!s:>7} {r['pss_mb']!s:>7}")
    ov = report["latency"]["overall"]
    lines.append(f"{'overall':>7} {ov['n']:>6} {report['errors']['total']:>6} {ov.get('p50_ms', '-'):>8} {ov.get('p95_ms', '-'):>8} "
                 f"{ov.get('p99_ms', '-'):>8} {report['throughput_turns_per_s']!s:>8}")
    e, t, c = report["errors"], report["turns"], report["conversations"]
    lines += ["", f"turns: {t['total']} ({t['warmup']} in the warm-up); by kind: "
              + ", ".join(f"{k} {v}" for k, v in t["by_kind"].items()),
              "errors: " + str(e["total"]) + " (" + ", ".join(f"{k} {v}" for k, v in e["by_kind"].items()) + ")"
              + ("; " + ", ".join(f"{k} x{v}" for k, v in e["by_detail"].items()) if e["by_detail"] else ""),
              f"conversations: {c['started']} started, {c['completed']} completed, {c['ended_by_error']} ended by an error, "
              f"{c['cut_at_end']} cut at the end; " + ", ".join(f"{k} {v}" for k, v in {**c["by_kind"], **c["by_language"]}.items()),
              "", f"{'memory (RSS / PSS MB)':<22} {'start':>11} {'after warm-up':>14} {'end':>11}   growth (end - after warm-up)"]
    mem = report["memory"]
    for name in mem["end"]:
        g = mem["growth"][name]
        lines.append(f"{name:<22} {_mem(mem['start'][name]):>11} {_mem(mem['after_warmup'][name]):>14} {_mem(mem['end'][name]):>11} "
                     f"   RSS {g['rss_mb']:+} MB ({g['rss_pct']} %), PSS {g['pss_mb']:+} MB ({g['pss_pct']} %)")
    leads, tracker = report["leads"], report["tracker_store"]
    lines += ["", f"leads: expected {leads['expected']}, stored {leads['stored']}, missing {leads['missing']}, "
              f"duplicated {leads['duplicated']}; reference shown in the chat {leads['confirmed_in_chat']}; "
              f"emails received {leads['notification_emails_received']} (unsent {leads['notification_emails_unsent']})",
              f"tracker store ({tracker['store']}): {tracker['events']} events in {tracker['conversations']} conversations",
              "", "RESULT: " + ("OK (no errors, every expected lead stored)" if report["ok"] else "FAILED: " + "; ".join(report["problems"]))]
    return "\n".join(lines)


def _mem(m: dict) -> str:
    return f"{m['rss_mb']}/{m['pss_mb']}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.soak", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--conversations", type=int, default=50, help="conversations at once (default 50)")
    parser.add_argument("--minutes", type=float, default=10, help="measured minutes after the warm-up (default 10)")
    parser.add_argument("--warmup-seconds", type=float, default=60, help="load before measuring (default 60)")
    parser.add_argument("--profile", choices=settings.PROFILES, default="production")
    parser.add_argument("--report", type=Path, default=SOAK_DIR / "report.json")
    parser.add_argument("--think-seconds", type=float, nargs=2, default=(0.5, 2.5), metavar=("MIN", "MAX"),
                        help="pause before each turn, drawn between MIN and MAX (default 0.5 2.5)")
    parser.add_argument("--lead-share", type=float, default=0.1, help="share of conversations that hand over a lead (default 0.1)")
    parser.add_argument("--web-workers", type=int, help="gunicorn workers (default 2; 1 on the development profile)")
    parser.add_argument("--rasa-workers", type=int, help="Sanic workers of Rasa (default 2; 1 on the development profile)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    workers = 2 if args.profile == "production" else 1
    options = Options(conversations=args.conversations, seconds=args.minutes * 60, warmup_s=args.warmup_seconds,
                      profile=args.profile, think_s=tuple(args.think_seconds), lead_share=args.lead_share,
                      web_workers=args.web_workers or workers, rasa_workers=args.rasa_workers or workers, seed=args.seed)
    report = run(options, args.report)
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
