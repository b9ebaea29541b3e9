"""Working time for the response promise: Monday to Friday in Swedish time count, weekends do not
(public holidays are not known here and count as working days).

A lead is due MOVE_RESPONSE_WORKING_DAYS working days (2 x 24 h of weekday time) after it arrived;
`due_at` and `overdue_since` are exact inverses, so the list's highlight and its "Overdue" filter agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

STAFF_TZ = ZoneInfo("Europe/Stockholm")
DAY = timedelta(days=1)


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=STAFF_TZ)


def _working(day: date) -> bool:
    return day.weekday() < 5


def due_at(arrived: datetime, working_days: int) -> datetime:
    """When `working_days` x 24 h of weekday time have passed since `arrived`."""
    local, left = arrived.astimezone(STAFF_TZ), DAY * working_days
    while True:
        end = _midnight(local.date() + DAY)
        if _working(local.date()):
            if local + left <= end:
                return local + left
            left -= end - local
        local = end


def overdue_since(now: datetime, working_days: int) -> datetime:
    """The latest arrival time that is overdue at `now` (a lead that arrived at or before it is late)."""
    local, left = now.astimezone(STAFF_TZ), DAY * working_days
    while True:
        start = _midnight(local.date())
        if start == local:
            start = _midnight(local.date() - DAY)
        if _working(start.date()):
            if local - left >= start:
                return local - left
            left -= local - start
        local = start


@dataclass(frozen=True)
class ResponseClock:
    """A lead's age and, while it waits for its first answer (status new), when the answer is due."""

    age: timedelta
    due: datetime | None  # None: answered (not new)
    overdue: bool


def clock(arrived: datetime, status: str, now: datetime, working_days: int) -> ResponseClock:
    if status != "new":
        return ResponseClock(now - arrived, None, False)
    due = due_at(arrived, working_days)
    return ResponseClock(now - arrived, due, now > due)
