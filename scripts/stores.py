"""Fresh production-profile stores for one run: a tracker and an app database on a PostgreSQL
server and an empty Redis database, removed afterwards. Used by `make soak` and by the tests that
run the production profile (production paths, fault injection, tracker privacy)."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

import settings

REDIS_CLAIM_KEY = "move:claimed-by-a-run"  # marks a Redis database as taken while a run uses it


@dataclass
class FreshStores:
    tracker_url: str            # postgresql://… as an operator writes it (Rasa runs psycopg2)
    app_url: str                # postgresql+psycopg://…, migrated to the newest schema
    redis_url: str
    redis_db: int
    databases: dict[str, str]   # "tracker" / "app" -> database name
    admin: Engine               # AUTOCOMMIT engine on the server's maintenance database

    @property
    def tracker_sqlalchemy_url(self) -> str:
        """The tracker database for this (Python 3.11) side, which has psycopg 3."""
        from web.leads.tracker_privacy import tracker_url

        return tracker_url(self.tracker_url)

    @property
    def env(self) -> dict[str, str]:
        """The stack's environment variables for these stores."""
        return {"MOVE_TRACKER_DB": self.tracker_url, "MOVE_DATABASE_URL": self.app_url,
                "MOVE_REDIS_URL": self.redis_url, "MOVE_RATE_LIMIT_STORAGE": self.redis_url}


def claim_redis_db(redis_url: str = settings.SOAK_REDIS_URL) -> tuple[int, str]:
    """An empty Redis database (15 down to 1) on that server, marked as taken."""
    import redis

    base = urlsplit(redis_url)
    for number in range(15, 0, -1):
        url = f"{base.scheme}://{base.netloc}/{number}"
        store = redis.Redis.from_url(url)
        if store.dbsize() == 0 and store.set(REDIS_CLAIM_KEY, "1", nx=True):
            return number, url
    raise RuntimeError(f"no empty Redis database (1-15) on {base.netloc}")


@contextlib.contextmanager
def fresh_production_stores(prefix: str, postgres_url: str = settings.SOAK_POSTGRES_URL,
                            redis_url: str = settings.SOAK_REDIS_URL) -> Iterator[FreshStores]:
    """Two new PostgreSQL databases named `<prefix>_tracker_<random>` / `<prefix>_app_<random>`
    (the app database migrated) and a claimed empty Redis database; all dropped or emptied after."""
    import redis

    from web.leads import db
    from web.leads.migrate import upgrade

    server = make_url(postgres_url)
    admin = create_engine(server.set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT")
    suffix = uuid.uuid4().hex[:10]
    names = {"tracker": f"{prefix}_tracker_{suffix}", "app": f"{prefix}_app_{suffix}"}
    app_url = redis_claimed = None
    try:
        with admin.connect() as conn:
            for name in names.values():
                conn.execute(text(f'CREATE DATABASE "{name}"'))
        tracker_url = server.set(drivername="postgresql", database=names["tracker"]).render_as_string(hide_password=False)
        app_url = server.set(drivername="postgresql+psycopg", database=names["app"]).render_as_string(hide_password=False)
        upgrade(app_url)
        redis_db, redis_claimed = claim_redis_db(redis_url)
        yield FreshStores(tracker_url, app_url, redis_claimed, redis_db, names, admin)
    finally:
        if app_url:
            db.dispose(app_url)
        if redis_claimed:
            redis.Redis.from_url(redis_claimed).flushdb()
        with admin.connect() as conn:
            for name in names.values():
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
