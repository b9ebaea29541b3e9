"""End-to-end benchmark of the running assistant, in one run on this machine (`make bench`).

    python -m scripts.bench [--quick] [--report var/bench/report.json] [--no-retrain] [--no-index]

It starts its own stack (web app, Rasa, action server) on free loopback ports with its own
databases, and next to it a minimal Rasa bot (two intents, one rule, one trivial custom action on
a minimal rasa_sdk server, the same SQLite tracker store) as a baseline. It then measures, with
the knowledge base's own example questions in all five languages:

- per-turn latency p50/p95/p99, sequential and at 10 and 50 concurrent conversations, for three
  paths: the public chat API (web -> Rasa -> actions -> retrieval), our Rasa's REST webhook
  directly (to separate the web app's share) and the baseline bot. Each conversation waits a
  think time between its turns (exponential, mean --think-s, default 2 s: a fast typist; a real
  mover reads the answer and types the next question in 10-30 s), because a closed loop with no
  pause measures queueing, not latency: 10 clients that never pause see 10 / throughput seconds
  per turn whatever the server does;
- throughput (turns/s) at saturation: 10 and 50 conversations that never pause;
- latency over a 200-turn conversation (does it grow with the conversation?);
- time from start to all services healthy, memory (RSS and PSS of each process tree),
  a cold retrain of the Rasa model and a build of the search index from scratch.

It writes a JSON report and prints a table. It asserts nothing: the targets (p50 <= 60 ms and
p95 <= 150 ms at 10 conversations, >= 40 turns/s at saturation, flat long conversations, healthy
<= 30 s, total RSS <= 2.5 GB) are printed next to the figures, met or not.
Timings depend on what else runs on the machine: compare runs made under the same load.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import hashlib
import itertools
import json
import os
import platform
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import requests
from tqdm import tqdm

import settings
from scripts.stack import APP_BIN, RASA_BIN, ROOT, Stack, free_port, prepare, rasa_env

BENCH_DIR = settings.VAR_DIR / "bench"
BASELINE_DIR = BENCH_DIR / "baseline"
BASELINE_ACTION = "action_bench_reply"
# Topics whose questions start the contact form or talk about the service itself, not a mover's
# question: left out so every measured turn is a question answered from the knowledge base.
SKIP_TOPIC_PREFIXES = ("service.",)

TARGETS = {
    "p50_ms_at_10": 60.0,
    "p95_ms_at_10": 150.0,
    "turns_per_s": 40.0,
    "healthy_s": 30.0,
    "total_rss_mb": 2560.0,
}


@dataclass(frozen=True)
class Plan:
    """How much to measure: the full run, or a tiny one (--quick) that checks the bench works."""

    levels: tuple[int, ...]           # concurrent conversations per phase
    turns: dict[int, int]             # turns measured at each level (upper bound)
    phase_seconds: float              # time bound of one phase
    conversation_turns: int           # turns per conversation before a new session starts
    long_turns: int                   # the long conversation
    long_block: int                   # its latency is reported per block of this many turns
    warmup_turns: int
    think_s: float = 2.0              # mean pause between a conversation's turns in the latency phases
    saturation_levels: tuple[int, ...] = (10, 50)  # conversations without pauses: throughput
    saturation_turns: int = 600

    @classmethod
    def full(cls) -> Plan:
        return cls(levels=(1, 10, 50), turns={1: 200, 10: 400, 50: 600}, phase_seconds=180,
                   conversation_turns=5, long_turns=200, long_block=20, warmup_turns=10)

    @classmethod
    def quick(cls) -> Plan:
        return cls(levels=(1, 3), turns={1: 6, 3: 9}, phase_seconds=60, conversation_turns=3,
                   long_turns=10, long_block=5, warmup_turns=2, think_s=0.2, saturation_levels=(3,), saturation_turns=9)


# ---------------------------------------------------------------- small helpers

def percentile(values: list[float], p: float) -> float:
    """Linear interpolation between closest ranks (numpy's default), so p99 of few samples is sane."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = (len(ordered) - 1) * p / 100
    lo = int(k)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def summary(latencies_ms: list[float]) -> dict:
    if not latencies_ms:
        return {"n": 0}
    return {"n": len(latencies_ms), "p50_ms": round(percentile(latencies_ms, 50), 1),
            "p95_ms": round(percentile(latencies_ms, 95), 1), "p99_ms": round(percentile(latencies_ms, 99), 1),
            "mean_ms": round(sum(latencies_ms) / len(latencies_ms), 1), "max_ms": round(max(latencies_ms), 1)}


def load_knowledge_base():
    """The knowledge base (knowledge/), or a clear exit when its files have errors."""
    from knowledge.loader import load_knowledge

    kb, issues = load_knowledge(settings.KNOWLEDGE_DIR, settings.TOPICS_CONTRACT)
    if kb is None:
        raise SystemExit("the knowledge files have errors: run `make knowledge-check`")
    return kb


def load_questions(kb=None) -> dict[str, list[str]]:
    """Example questions of every topic (knowledge/topics/*.yml), per language, in a fixed shuffled order."""
    kb = kb or load_knowledge_base()
    rng = random.Random(42)
    questions = {}
    for lang in settings.LANGUAGES:
        items = [q for tid, topic in kb.topics.items() if not tid.startswith(SKIP_TOPIC_PREFIXES)
                 for q in topic.entry(lang).questions]
        rng.shuffle(items)
        questions[lang] = items
    return questions


def process_tree(root_pid: int) -> list[int]:
    """The pid and all its descendants (Rasa and gunicorn have worker children), from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    tree, todo = [], [root_pid]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(children.get(pid, []))
    return tree


def _proc_kb(path: Path, key: str) -> int:
    try:
        for line in path.read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def memory_mb(root_pid: int) -> dict:
    """RSS (VmRSS) and PSS (shared pages split between processes, so sums are not inflated) of a tree."""
    pids = process_tree(root_pid)
    rss = sum(_proc_kb(Path(f"/proc/{p}/status"), "VmRSS") for p in pids)
    pss = sum(_proc_kb(Path(f"/proc/{p}/smaps_rollup"), "Pss") for p in pids)
    return {"processes": len(pids), "rss_mb": round(rss / 1024), "pss_mb": round(pss / 1024)}


def memory_of(processes: dict[str, subprocess.Popen]) -> dict:
    out = {name: memory_mb(proc.pid) for name, proc in processes.items()}
    out["total"] = {key: sum(v[key] for v in out.values()) for key in ("processes", "rss_mb", "pss_mb")}
    return out


def wait_until(checks: dict[str, str], processes: dict[str, subprocess.Popen], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for name, proc in processes.items():
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited with code {proc.returncode}")
        try:
            if all(requests.get(url, timeout=2).status_code == 200 for url in checks.values()):
                return
        except requests.RequestException:
            pass
        time.sleep(0.5)
    raise TimeoutError(f"not healthy after {timeout:.0f} s: {checks}")


def stop_processes(processes: dict[str, subprocess.Popen]) -> None:
    for proc in processes.values():
        if proc.poll() is None:
            os.killpg(proc.pid, 15)
    deadline = time.monotonic() + 15
    for proc in processes.values():
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)
            proc.wait()


# ---------------------------------------------------------------- the baseline bot

BASELINE_FILES = {
    "config.yml": """\
# Benchmark baseline: the same kind of NLU pipeline and rule policy as ../../config.yml, tiny data.
recipe: default.v1
language: xx
assistant_id: bench-baseline
pipeline:
  - name: WhitespaceTokenizer
  - name: CountVectorsFeaturizer
  - name: CountVectorsFeaturizer
    analyzer: char_wb
    min_ngram: 2
    max_ngram: 4
  - name: DIETClassifier
    epochs: 10
    number_of_transformer_layers: 0
    entity_recognition: false
    constrain_similarities: true
    random_seed: 42
policies:
  - name: RulePolicy
    core_fallback_threshold: 0.3
    core_fallback_action_name: action_bench_reply
    enable_fallback_prediction: true
""",
    "domain.yml": """\
version: "3.1"
intents: [greet, ask]
actions: [action_bench_reply]
session_config:
  session_expiration_time: 60
  carry_over_slots_to_new_session: true
""",
    "data/nlu.yml": """\
version: "3.1"
nlu:
  - intent: greet
    examples: |
      - hello
      - hi
      - hej
      - cześć
      - labas
      - sveiki
  - intent: ask
    examples: |
      - how do I find a job
      - where can I rent a flat
      - hur får jag personnummer
      - jak znaleźć pracę
      - kaip rasti darbą
      - kā atrast darbu
""",
    "data/rules.yml": """\
version: "3.1"
rules:
  - rule: greet
    steps: [{intent: greet}, {action: action_bench_reply}]
  - rule: ask
    steps: [{intent: ask}, {action: action_bench_reply}]
""",
}


def baseline_model() -> tuple[Path, float | None]:
    """The baseline bot's model, trained into var/bench/baseline/ once (seconds of training plus
    Rasa's start-up); returns its path and the training time (None when it was already there)."""
    digest = hashlib.sha256()
    for name, text in sorted(BASELINE_FILES.items()):
        digest.update(name.encode() + text.encode())
    name = f"baseline-{digest.hexdigest()[:12]}"
    model = BASELINE_DIR / "models" / f"{name}.tar.gz"
    if model.exists():
        return model, None
    for rel, text in BASELINE_FILES.items():
        path = BASELINE_DIR / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    started = time.perf_counter()
    with open(BASELINE_DIR / "train.log", "wb") as log:
        result = subprocess.run(
            [str(RASA_BIN / "rasa"), "train", "--config", "config.yml", "--domain", "domain.yml", "--data", "data",
             "--out", "models", "--fixed-model-name", name],
            cwd=BASELINE_DIR, env={**rasa_env(), "RASA_CACHE_DIRECTORY": str(BASELINE_DIR / "cache")},
            stdout=log, stderr=subprocess.STDOUT, timeout=900)
    if result.returncode != 0 or not model.exists():
        raise SystemExit(f"training the baseline bot failed: see {BASELINE_DIR / 'train.log'}")
    return model, time.perf_counter() - started


def serve_baseline_actions(port: int) -> None:
    """The baseline's action server: rasa_sdk with one action that replies with a fixed text,
    single process on loopback, like actions/server.py without the knowledge base."""
    from rasa_sdk import Action
    from rasa_sdk.endpoint import create_app
    from rasa_sdk.executor import ActionExecutor

    class ActionBenchReply(Action):
        def name(self) -> str:
            return BASELINE_ACTION

        def run(self, dispatcher, tracker, domain):
            dispatcher.utter_message(text="ok")
            return []

    executor = ActionExecutor()
    executor.register_action(ActionBenchReply)
    app = create_app(executor, cors_origins=[])
    app.run(host="127.0.0.1", port=port, single_process=True, access_log=False, motd=False)


@dataclass
class Baseline:
    run_dir: Path
    rasa_port: int = field(default_factory=free_port)
    actions_port: int = field(default_factory=free_port)
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)

    @property
    def rasa_url(self) -> str:
        return f"http://127.0.0.1:{self.rasa_port}"

    def start(self, model: Path) -> float:
        endpoints = self.run_dir / "baseline-endpoints.yml"
        endpoints.write_text(
            f"action_endpoint:\n  url: http://127.0.0.1:{self.actions_port}/webhook\n"
            f"tracker_store:\n  type: SQL\n  dialect: sqlite\n  db: {self.run_dir / 'baseline-tracker.db'}\n")
        env = {**rasa_env(), "PYTHONPATH": str(ROOT)}
        commands = {
            "baseline_actions": [str(APP_BIN / "python"), "-m", "scripts.bench", "--serve-baseline-actions",
                                 str(self.actions_port)],
            "baseline_rasa": [str(RASA_BIN / "rasa"), "run", "--model", str(model), "--endpoints", str(endpoints),
                              "--credentials", str(ROOT / "bot" / "credentials.yml"), "--interface", "127.0.0.1",
                              "--port", str(self.rasa_port)],
        }
        started = time.perf_counter()
        for name, cmd in commands.items():
            log = open(self.run_dir / f"{name}.log", "ab")
            self.processes[name] = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                                    start_new_session=True)
        wait_until({"rasa": self.rasa_url + "/", "actions": f"http://127.0.0.1:{self.actions_port}/health"},
                   self.processes, timeout=300)
        return time.perf_counter() - started

    def stop(self) -> None:
        stop_processes(self.processes)
        self.processes.clear()


# ---------------------------------------------------------------- sending turns

class Route:
    """One way to send a chat turn; `turn` returns the session id to use for the next turn."""

    name: str

    def new_session(self) -> str | None:
        return None

    def turn(self, http: requests.Session, message: str, session: str | None) -> str:
        raise NotImplementedError


class ChatApi(Route):
    name = "full"
    label = "public chat API (web -> Rasa -> actions)"

    def __init__(self, web_url: str):
        self.url = web_url + "/api/chat"

    def post(self, http: requests.Session, body: dict) -> requests.Response:
        """One request to /api/chat as the widget sends it (message or payload, session, lang)."""
        return http.post(self.url, json=body, timeout=120)

    def turn(self, http: requests.Session, message: str, session: str | None) -> str:
        body = {"message": message} if session is None else {"message": message, "session": session}
        response = self.post(http, body)
        response.raise_for_status()
        data = response.json()
        if not data.get("messages"):
            raise ValueError("no reply")
        return data["session"]


class RasaWebhook(Route):
    def __init__(self, name: str, label: str, rasa_url: str):
        self.name, self.label = name, label
        self.url = rasa_url + "/webhooks/rest/webhook"

    def new_session(self) -> str:
        return uuid.uuid4().hex

    def turn(self, http: requests.Session, message: str, session: str | None) -> str:
        response = http.post(self.url, json={"sender": session, "message": message}, timeout=120)
        response.raise_for_status()
        if not response.json():
            raise ValueError("no reply (the action failed)")
        return session


def run_phase(path: Route, questions: dict[str, list[str]], concurrency: int, max_turns: int, max_seconds: float,
              conversation_turns: int, seed: int, desc: str, think_s: float = 0.0) -> dict:
    """`concurrency` conversations at once, each `conversation_turns` questions in one language, until
    `max_turns` turns or `max_seconds` have passed. Latency is per turn, as the client sees it. With
    `think_s`, each conversation starts at a random moment in the first 2 x think_s seconds and
    pauses after every turn (exponential, that mean, at most 5x), so turns/s is then the offered
    load, not the capacity."""
    claim_lock = threading.Lock()
    claimed = itertools.count()
    latencies: list[float] = []
    errors: list[str] = []
    deadline = time.monotonic() + max_seconds
    stop = threading.Event()  # set on Ctrl-C, so the workers end after their current turn
    bar = tqdm(total=max_turns, desc=desc, unit="turn", leave=False, dynamic_ncols=True)

    def worker(index: int) -> None:
        rng = random.Random(seed * 1000 + index)
        http = requests.Session()
        # conversations with pauses begin at random moments, as movers do, not all in the same
        # millisecond (that first burst of N turns would be most of the p95 at 50 conversations)
        if think_s > 0 and stop.wait(rng.uniform(0, 2 * think_s)):
            return
        while True:
            lang = rng.choice(settings.LANGUAGES)
            pool = questions[lang]
            session = path.new_session()
            for _ in range(conversation_turns):
                with claim_lock:
                    if stop.is_set() or next(claimed) >= max_turns or time.monotonic() > deadline:
                        return
                message = pool[rng.randrange(len(pool))]
                started = time.perf_counter()
                try:
                    session = path.turn(http, message, session)
                    elapsed = (time.perf_counter() - started) * 1000
                    with claim_lock:
                        latencies.append(elapsed)
                except (requests.RequestException, ValueError) as exc:
                    with claim_lock:
                        errors.append(f"{type(exc).__name__}: {exc}"[:200])
                    session = path.new_session()
                bar.update(1)
                if think_s > 0 and stop.wait(min(rng.expovariate(1 / think_s), 5 * think_s)):
                    return

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        try:
            for future in [pool.submit(worker, i) for i in range(concurrency)]:
                future.result()
        except BaseException:
            stop.set()
            raise
    wall = time.perf_counter() - started
    bar.close()
    result = summary(latencies)
    result.update({"concurrency": concurrency, "think_s": think_s, "errors": len(errors),
                   "error_examples": sorted(set(errors))[:3],
                   "wall_s": round(wall, 2), "turns_per_s": round(len(latencies) / wall, 2) if wall else None})
    return result


def long_conversation(path: Route, questions: list[str], turns: int, block: int, max_seconds: float, desc: str) -> dict:
    """One conversation of `turns` turns: latency per block of turns, and the trend per turn."""
    http = requests.Session()
    session = path.new_session()
    latencies: list[float] = []
    errors = 0
    deadline = time.monotonic() + max_seconds
    for i in tqdm(range(turns), desc=desc, unit="turn", leave=False, dynamic_ncols=True):
        if time.monotonic() > deadline:
            break
        started = time.perf_counter()
        try:
            session = path.turn(http, questions[i % len(questions)], session)
            latencies.append((time.perf_counter() - started) * 1000)
        except (requests.RequestException, ValueError):
            errors += 1
    blocks = [{"turns": f"{i + 1}-{min(i + block, len(latencies))}", **summary(latencies[i:i + block])}
              for i in range(0, len(latencies), block)]
    slope = None
    if len(latencies) >= 2:  # least-squares slope of latency over turn number
        n = len(latencies)
        mean_x, mean_y = (n - 1) / 2, sum(latencies) / n
        var_x = sum((x - mean_x) ** 2 for x in range(n))
        slope = sum((x - mean_x) * (y - mean_y) for x, y in enumerate(latencies)) / var_x
    first, last = blocks[0].get("p50_ms") if blocks else None, blocks[-1].get("p50_ms") if blocks else None
    return {"turns": len(latencies), "errors": errors, "overall": summary(latencies), "blocks": blocks,
            "slope_ms_per_turn": round(slope, 3) if slope is not None else None,
            "last_over_first_p50": round(last / first, 2) if first and last else None}


# ---------------------------------------------------------------- one-off timings

def time_retrain(out_dir: Path) -> dict:
    """A cold `rasa train --force` of the real bot into a temporary folder, with an empty cache."""
    cache = out_dir / "cache"
    cmd = [str(RASA_BIN / "rasa"), "train", "--config", "config.yml", "--domain", "bot/domain", "--data", "bot/data",
           "--out", str(out_dir / "models"), "--force", "--fixed-model-name", "bench-retrain"]
    started = time.perf_counter()
    with open(BENCH_DIR / "retrain.log", "wb") as log:
        result = subprocess.run(cmd, cwd=ROOT, env={**rasa_env(), "RASA_CACHE_DIRECTORY": str(cache)},
                                stdout=log, stderr=subprocess.STDOUT, timeout=1800)
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        return {"ok": False, "seconds": round(seconds, 1), "log": str(BENCH_DIR / "retrain.log")}
    return {"ok": True, "seconds": round(seconds, 1)}


def time_index_build(tmp: Path) -> dict:
    """Load the embedding model, then build the search index (dense vectors + BM25) into an empty folder."""
    from knowledge.loader import load_knowledge
    from knowledge.retrieval import Embedder, Retriever

    kb, _ = load_knowledge(settings.KNOWLEDGE_DIR, settings.TOPICS_CONTRACT)
    started = time.perf_counter()
    embedder = Embedder(settings.EMBEDDING_MODEL)
    model_s = time.perf_counter() - started
    started = time.perf_counter()
    retriever = Retriever(kb, embedder, tmp / "index", progress=True)
    return {"model_load_s": round(model_s, 1), "build_s": round(time.perf_counter() - started, 1),
            "texts": len(retriever.docs), "torch_threads": settings.TORCH_THREADS}


# ---------------------------------------------------------------- the run

def machine_info() -> dict:
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    return {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
            "git_commit": commit or None, "load_average": [round(x, 2) for x in os.getloadavg()]}


def run(report_path: Path, plan: Plan, retrain: bool, index: bool, stack: Stack | None = None) -> dict:
    """Measure and write the report. With `stack` (already healthy, e.g. the tests' fixture) the
    bench uses it instead of starting its own, and reports no start-up time for it."""
    from web.leads.migrate import upgrade

    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    report: dict = {"started_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), "quick": plan == Plan.quick(),
                    "machine": machine_info(), "targets": TARGETS}
    questions = load_questions()
    report["questions"] = {lang: len(q) for lang, q in questions.items()}
    run_dir = Path(tempfile.mkdtemp(prefix="run-", dir=BENCH_DIR))  # databases and logs of this run
    try:
        own_stack = stack is None
        baseline = Baseline(run_dir)
        try:
            if own_stack:
                model = prepare()
                app_db = f"sqlite:///{run_dir / 'app.db'}"
                upgrade(app_db)
                stack = Stack(web_port=free_port(), rasa_port=free_port(), actions_port=free_port(),
                              extra_env={"MOVE_TRACKER_DB": str(run_dir / "tracker.db"), "MOVE_DATABASE_URL": app_db,
                                         "MOVE_NOTIFY_INTERVAL_S": "0",
                                         # one client address sends every turn: the per-address and
                                         # per-session limits of /api/chat would refuse most of them
                                         "MOVE_CHAT_RATE_LIMIT_IP": "off", "MOVE_CHAT_RATE_LIMIT_SESSION": "off"})
                print("==> bench: starting the assistant on free ports", flush=True)
                started = time.perf_counter()
                stack.start(model)
                stack.wait_healthy(timeout=600)
                report["startup"] = {"stack_healthy_s": round(time.perf_counter() - started, 1)}
            else:
                report["startup"] = {"stack_healthy_s": None, "note": "stack started by the caller"}
            print("==> bench: baseline bot (minimal Rasa + one trivial custom action)", flush=True)
            base_model, base_train_s = baseline_model()
            report["startup"]["baseline_train_s"] = round(base_train_s, 1) if base_train_s is not None else None
            report["startup"]["baseline_healthy_s"] = round(baseline.start(base_model), 1)
            report["memory_idle"] = {"assistant": memory_of(stack.processes), "baseline": memory_of(baseline.processes)}

            paths: list[Route] = [ChatApi(stack.urls["web"]),
                                  RasaWebhook("rasa_direct", "our Rasa REST webhook (no web app)", stack.urls["rasa"]),
                                  RasaWebhook("baseline", "minimal Rasa bot + one trivial action", baseline.rasa_url)]
            for path in paths:  # the first turns of a fresh server are slower (lazy loading): not measured
                run_phase(path, questions, 1, plan.warmup_turns, plan.phase_seconds, plan.conversation_turns, 0,
                          f"warm-up {path.name}")
            report["latency"] = {p.name: {} for p in paths}
            report["saturation"] = {p.name: {} for p in paths}
            report["paths"] = {p.name: p.label for p in paths}
            report["think_s"] = plan.think_s
            phases = [("latency", level, plan.turns[level], plan.think_s if level > 1 else 0.0) for level in plan.levels]
            phases += [("saturation", level, plan.saturation_turns, 0.0) for level in plan.saturation_levels]
            for kind, level, turns, think in phases:  # the three paths one after another per phase
                for path in paths:
                    result = run_phase(path, questions, level, turns, plan.phase_seconds, plan.conversation_turns,
                                       level, f"{path.name} x{level} {kind}", think_s=think)
                    report[kind][path.name][str(level)] = result
                    tqdm.write(f"    {kind:<10} {path.name:<12} {level:>3} conversations: p50 {result.get('p50_ms')} ms, "
                               f"p95 {result.get('p95_ms')} ms, {result['turns_per_s']} turns/s, {result['errors']} errors "
                               + "; ".join(result["error_examples"]))
            report["ratios"] = ratios(report["latency"])
            report["saturation_ratios"] = ratios(report["saturation"])
            report["long_conversation"] = {}
            for path in (paths[0], paths[2]):
                report["long_conversation"][path.name] = long_conversation(
                    path, questions["en"], plan.long_turns, plan.long_block, max(plan.phase_seconds, 600), f"long {path.name}")
            report["memory_after_load"] = {"assistant": memory_of(stack.processes), "baseline": memory_of(baseline.processes)}
        finally:
            baseline.stop()
            if own_stack and stack is not None:
                stack.stop()
        report["retrain"] = time_retrain(run_dir) if retrain else None
        report["index_build"] = time_index_build(run_dir) if index else None
    finally:
        shutil.rmtree(run_dir, ignore_errors=True)
    report["machine"]["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
    report["target_check"] = check_targets(report)
    report_path.parent.mkdir(parents=True, exist_ok=True)
    report_path.write_text(json.dumps(report, indent=2, ensure_ascii=False), encoding="utf-8")
    print(table(report))
    print(f"report: {report_path}")
    return report


def ratios(latency: dict) -> dict:
    """Full path over baseline (latency ratio > 1 = slower; throughput ratio < 1 = fewer turns/s),
    and the web app's share: full path minus our Rasa called directly."""
    out = {}
    for level, full in latency["full"].items():
        base, direct = latency["baseline"].get(level, {}), latency["rasa_direct"].get(level, {})

        def div(a, b):
            return round(a / b, 2) if a and b else None

        out[level] = {
            "full_over_baseline_p50": div(full.get("p50_ms"), base.get("p50_ms")),
            "full_over_baseline_p95": div(full.get("p95_ms"), base.get("p95_ms")),
            "throughput_full_over_baseline": div(full.get("turns_per_s"), base.get("turns_per_s")),
            "rasa_direct_over_baseline_p50": div(direct.get("p50_ms"), base.get("p50_ms")),
            "web_app_share_p50_ms": round(full["p50_ms"] - direct["p50_ms"], 1)
            if full.get("p50_ms") is not None and direct.get("p50_ms") is not None else None,
        }
    return out


def check_targets(report: dict) -> dict:
    """Each target and whether this run met it (informational: nothing fails on it)."""
    full = report.get("latency", {}).get("full", {})
    at10 = full.get("10", {})
    saturated = report.get("saturation", {}).get("full", {})
    best_tps = max((r.get("turns_per_s") or 0 for r in saturated.values()), default=None)
    long = report.get("long_conversation", {}).get("full", {})
    healthy = report.get("startup", {}).get("stack_healthy_s")
    total_rss = report.get("memory_after_load", {}).get("assistant", {}).get("total", {}).get("rss_mb", 0)

    def row(value, target, ok):
        return {"value": value, "target": target, "met": None if value is None else ok}

    p50, p95 = at10.get("p50_ms"), at10.get("p95_ms")
    ratio = long.get("last_over_first_p50")
    return {
        "p50_ms_at_10": row(p50, "<= 60", p50 is not None and p50 <= TARGETS["p50_ms_at_10"]),
        "p95_ms_at_10": row(p95, "<= 150", p95 is not None and p95 <= TARGETS["p95_ms_at_10"]),
        "turns_per_s_saturated": row(best_tps, ">= 40", best_tps is not None and best_tps >= TARGETS["turns_per_s"]),
        "long_conversation_last_over_first_p50": row(ratio, "flat (<= 1.2)", ratio is not None and ratio <= 1.2),
        "healthy_s": row(healthy, "<= 30", healthy is not None and healthy <= TARGETS["healthy_s"]),
        "total_rss_mb": row(total_rss or None, "<= 2560", total_rss <= TARGETS["total_rss_mb"]),
    }


def table(report: dict) -> str:
    """The readable summary printed at the end."""
    lines = ["", f"Benchmark {report['started_at']} ({report['machine']['cpus']} CPUs, load average "
             f"{report['machine']['load_average']} at start, {report['machine']['load_average_end']} at end)", ""]
    for kind, title in (("latency", f"latency: each conversation pauses {report['think_s']} s on average between turns"),
                        ("saturation", "saturation: conversations that never pause (throughput)")):
        lines += [title, f"{'path':<12} {'conv.':>5} {'turns':>6} {'err':>4} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'turns/s':>8}"]
        for name, levels in report[kind].items():
            for level, r in levels.items():
                lines.append(f"{name:<12} {level:>5} {r['n']:>6} {r['errors']:>4} {r.get('p50_ms', '-'):>8} "
                             f"{r.get('p95_ms', '-'):>8} {r.get('p99_ms', '-'):>8} {r['turns_per_s']:>8}")
        lines.append("")
    lines += ["  full = " + report["paths"]["full"] + "; rasa_direct = " + report["paths"]["rasa_direct"]
              + "; baseline = " + report["paths"]["baseline"], ""]
    for kind in ("ratios", "saturation_ratios"):
        lines.append(f"{kind.replace('_', ' '):<17} {'conv.':>5} {'full/baseline p50':>18} {'p95':>6} {'turns/s':>8} "
                     f"{'web app share p50 ms':>21}")
        for level, r in report[kind].items():
            lines.append(f"{'':<17} {level:>5} {r['full_over_baseline_p50']!s:>18} {r['full_over_baseline_p95']!s:>6} "
                         f"{r['throughput_full_over_baseline']!s:>8} {r['web_app_share_p50_ms']!s:>21}")
    for name, long in report["long_conversation"].items():
        blocks = ", ".join(f"{b['turns']}: {b.get('p50_ms')}" for b in long["blocks"])
        lines += ["", f"long conversation ({name}, {long['turns']} turns): p50 per block (ms) {blocks}",
                  f"  trend {long['slope_ms_per_turn']} ms per turn; last/first block p50 {long['last_over_first_p50']}"]
    start = report["startup"]
    lines += ["", f"start to healthy: assistant {start['stack_healthy_s']} s; baseline {start['baseline_healthy_s']} s"
              f" (baseline training: {str(start['baseline_train_s']) + ' s' if start['baseline_train_s'] is not None else 'already trained'})"]
    for group, mem in report["memory_after_load"].items():
        lines.append(f"memory after load, {group} (RSS / PSS MB, each process tree): " + ", ".join(
            f"{name} {m['rss_mb']}/{m['pss_mb']}" for name, m in mem.items()))
    retrain, index = report.get("retrain"), report.get("index_build")
    lines.append("retrain (cold, --force, empty cache): " + (
        "skipped" if not retrain else f"{retrain['seconds']} s" + ("" if retrain["ok"] else " (FAILED)")))
    lines.append("index build from scratch: " + (f"{index['build_s']} s for {index['texts']} texts "
                                                  f"(+ {index['model_load_s']} s model load)" if index else "skipped"))
    lines += ["", "targets (not asserted):"]
    for name, t in report["target_check"].items():
        mark = {True: "met", False: "NOT met", None: "-"}[t["met"]]
        lines.append(f"  {name:<40} {t['value']!s:>8}  target {t['target']:<14} {mark}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a few turns only, no retrain, no index build")
    parser.add_argument("--report", type=Path, default=BENCH_DIR / "report.json")
    parser.add_argument("--no-retrain", action="store_true", help="skip timing a cold Rasa retrain (minutes)")
    parser.add_argument("--no-index", action="store_true", help="skip timing the index build (about a minute)")
    parser.add_argument("--think-s", type=float, default=None,
                        help="mean pause (s) between a conversation's turns in the latency phases (default 2)")
    parser.add_argument("--serve-baseline-actions", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve_baseline_actions:
        serve_baseline_actions(args.serve_baseline_actions)
        return 0
    plan = Plan.quick() if args.quick else Plan.full()
    if args.think_s is not None:
        if args.think_s < 0:
            parser.error("--think-s must be 0 or more")
        plan = dataclasses.replace(plan, think_s=args.think_s)
    run(args.report, plan, retrain=not (args.quick or args.no_retrain), index=not (args.quick or args.no_index))
    return 0


if __name__ == "__main__":
    sys.exit(main())
