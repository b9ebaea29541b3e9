"""Starts Rasa (`python -m bot.server run ...`, the same arguments as `rasa run`) with three fixes
for work that Rasa 3.6 repeats needlessly. Runs in the rasa environment (Python 3.10).

Measured with py-spy on the running stack (10 concurrent conversations, issue 7):

1. Every custom action's reply is checked with `jsonschema.validate(result, schema)`, which first
   checks the schema itself against the JSON-Schema meta-schema on every call: 45 % of Rasa's
   CPU time per turn. Here the same schema is compiled into a validator once; every reply is
   still validated, with the same error message when it is invalid.
2. With SQLite (the development profile) SQLAlchemy 1.4 opens and closes a connection for every
   tracker read and save (NullPool), and every save is a commit that waits for fsync in
   rollback-journal mode: together 25-40 % of Rasa's time. Here the tracker store keeps its
   connection in a pool, and SQLite runs in WAL mode with synchronous=NORMAL, SQLite's
   recommended setting for WAL: a crash of the process loses nothing committed; only a power
   cut can lose the last moments. PostgreSQL is untouched.
3. A new session (after a pause, or every MOVE_SESSION_MAX_TURNS turns) carries the slots over by
   copying *every* SlotSet event of the old session, including the ones it carried over itself,
   so each session starts longer than the last: after 600 turns a new session began with 628 slot
   events, and each turn read them back (turn p50 38 -> 128 ms). Here it copies each slot's last
   value only: the same slots, the same values.

All three apply only to the Rasa version they were measured on (rasa.__version__ in PATCHED_FOR);
with any other version Rasa runs unchanged and a warning says so.
"""

from __future__ import annotations

import functools
import logging
import sys

log = logging.getLogger(__name__)

PATCHED_FOR = ("3.6.21",)


def compile_action_result_validation() -> None:
    """RemoteAction._validate_action_result with a validator built once instead of per call."""
    from jsonschema import ValidationError
    from jsonschema.validators import validator_for
    from rasa.core.actions.action import RemoteAction
    from rasa.shared.constants import DOCS_BASE_URL

    @functools.cache
    def validator():
        schema = RemoteAction.action_response_format_spec()
        cls = validator_for(schema)
        cls.check_schema(schema)  # what jsonschema.validate() does on every call: done once
        return cls(schema)

    def _validate_action_result(self, result):
        try:
            validator().validate(result)
            return True
        except ValidationError as e:  # the message Rasa gives, unchanged
            e.message += (
                ". Failed to validate Action server response from API, "
                "make sure your response from the Action endpoint is valid. "
                f"For more information about the format visit {DOCS_BASE_URL}/custom-actions"
            )
            raise e

    RemoteAction._validate_action_result = _validate_action_result


def sqlite_write_ahead_log() -> None:
    """The SQLite tracker store with a pooled connection, in WAL mode with synchronous=NORMAL."""
    from rasa.core import tracker_store
    from sqlalchemy import event
    from sqlalchemy.engine import Engine, make_url
    from sqlalchemy.pool import QueuePool

    rasa_engine_kwargs = tracker_store.create_engine_kwargs

    @functools.wraps(rasa_engine_kwargs)
    def create_engine_kwargs(url):
        if make_url(url).get_backend_name() != "sqlite" or make_url(url).database in (None, "", ":memory:"):
            return rasa_engine_kwargs(url)
        # One connection, reused (Rasa calls the store from its event loop, one call at a time).
        return {"poolclass": QueuePool, "pool_size": 1, "max_overflow": 4,
                "connect_args": {"check_same_thread": False}}

    tracker_store.create_engine_kwargs = create_engine_kwargs

    @event.listens_for(Engine, "connect")
    def _pragmas(dbapi_connection, connection_record):
        module = type(dbapi_connection).__module__
        if not module.startswith("sqlite3"):
            return
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()


def carry_over_last_slot_values() -> None:
    """ActionSessionStart carries one SlotSet per slot (its latest value), in the order last set."""
    from rasa.core.actions.action import ActionSessionStart
    from rasa.shared.core.events import SlotSet

    def _slot_set_events_from_tracker(tracker):
        latest = {}
        for event in tracker.applied_events():
            if isinstance(event, SlotSet):
                latest.pop(event.key, None)  # re-insert: dicts keep the order of the last setting
                latest[event.key] = SlotSet(key=event.key, value=event.value, metadata=event.metadata)
        return list(latest.values())

    ActionSessionStart._slot_set_events_from_tracker = staticmethod(_slot_set_events_from_tracker)


def apply() -> bool:
    import rasa

    if rasa.__version__ not in PATCHED_FOR:
        log.warning("bot.server: Rasa %s is not %s; running without the per-turn fixes", rasa.__version__,
                    " or ".join(PATCHED_FOR))
        return False
    compile_action_result_validation()
    sqlite_write_ahead_log()
    carry_over_last_slot_values()
    return True


def main(argv: list[str] | None = None) -> None:
    from rasa.__main__ import main as rasa_main

    apply()
    sys.argv = ["rasa", *(sys.argv[1:] if argv is None else argv)]
    rasa_main()


if __name__ == "__main__":
    main()
