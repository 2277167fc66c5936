"""The service's notion of "now": injected, so tests can move time (embargo ends, token expiry)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


def utcnow() -> datetime:
    """Now in UTC, at second precision: OAI-PMH datestamps have seconds granularity."""
    return datetime.now(UTC).replace(microsecond=0)


class Clock:
    """Real time."""

    def now(self) -> datetime:
        return utcnow()


class ManualClock(Clock):
    """A clock that only moves when told to (tests)."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = (start or utcnow()).replace(microsecond=0)

    def now(self) -> datetime:
        return self._now

    def set(self, when: datetime) -> None:
        self._now = when.replace(microsecond=0)

    def advance(self, **delta: float) -> datetime:
        self._now += timedelta(**delta)
        return self._now
