"""Rasa's SQL tracker store, made to survive lost database connections (production profile).

Loaded by Rasa (the rasa environment, Python 3.10) from bot/endpoints.production.yml as
`type: bot.tracker_store.ReconnectingSQLTrackerStore`; everything else is Rasa's SQLTrackerStore.

Why: Rasa 3.6 creates its engine without pool_pre_ping and wraps every tracker store in a
FailSafeTrackerStore. When PostgreSQL has closed the pooled connections (a restart, a failover,
an idle timeout, pg_terminate_backend), the next read fails, the fail-safe wrapper answers "no
such conversation", and that turn is answered as if the conversation had just begun (a form
forgets where it is, the reply makes no sense to the mover); a save that fails the same way
goes to an in-memory store, so the next turn repeats an old step. Here a pooled connection is
pinged before use (a dead one is replaced), and a read or save cut off by a lost connection is
tried once more on a new one. A database that stays unreachable still ends in Rasa's fail-safe.
"""

from __future__ import annotations

import logging
from typing import Any

import sqlalchemy as sa
from rasa.core import tracker_store
from rasa.core.tracker_store import SQLTrackerStore
from sqlalchemy.exc import DBAPIError

log = logging.getLogger(__name__)


class ReconnectingSQLTrackerStore(SQLTrackerStore):
    """SQLTrackerStore with pool_pre_ping and one retry after a lost connection."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        url = self.engine.url
        self.engine.dispose()
        # Rasa's own engine arguments (looked up now: bot/server.py may have adjusted them), plus the ping
        self.engine = sa.create_engine(url, pool_pre_ping=True, **tracker_store.create_engine_kwargs(url))
        self.sessionmaker = sa.orm.session.sessionmaker(bind=self.engine)

    async def _retrieve(self, sender_id, fetch_events_from_all_sessions):
        try:
            return await super()._retrieve(sender_id, fetch_events_from_all_sessions)
        except DBAPIError as error:
            if not error.connection_invalidated:  # another error: Rasa's fail-safe handles it as before
                raise
            log.warning("tracker store: connection lost while reading %s; reading again", sender_id)
            return await super()._retrieve(sender_id, fetch_events_from_all_sessions)

    async def save(self, tracker) -> None:
        # Saving again is safe: SQLTrackerStore.save stores only the events the database lacks
        # (and no event broker is configured, so nothing is streamed twice).
        try:
            await super().save(tracker)
        except DBAPIError as error:
            if not error.connection_invalidated:
                raise
            log.warning("tracker store: connection lost while saving %s; saving again", tracker.sender_id)
            await super().save(tracker)
