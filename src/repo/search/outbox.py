"""Writing to the outbox: called by services inside the transaction that makes the change."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from repo.search.models import OutboxEntry


def enqueue(session: Session, work_id: int, reason: str, now: datetime) -> None:
    session.add(OutboxEntry(work_id=work_id, reason=reason, created_at=now, available_at=now, attempts=0))


def enqueue_many(session: Session, work_ids: Sequence[int], reason: str, now: datetime) -> None:
    """:func:`enqueue` for a batch of works, in one statement (ingest writes a page at a time)."""
    if work_ids:
        session.execute(sa.insert(OutboxEntry), [
            {"work_id": work_id, "reason": reason, "created_at": now, "available_at": now, "attempts": 0}
            for work_id in work_ids])
