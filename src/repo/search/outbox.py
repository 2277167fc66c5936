"""Writing to the outbox: called by services inside the transaction that makes the change."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.orm import Session

from repo.db import insert_many
from repo.search.models import OutboxEntry


def enqueue(session: Session, work_id: int, reason: str, now: datetime) -> None:
    session.add(OutboxEntry(work_id=work_id, reason=reason, created_at=now, available_at=now, attempts=0))


def enqueue_many(session: Session, work_ids: Sequence[int], reason: str, now: datetime) -> None:
    """:func:`enqueue` for a batch of works, in one statement (ingest writes a page at a time)."""
    insert_many(session, OutboxEntry.__table__, [  # type: ignore[arg-type]  # declarative: a Table
        {"work_id": work_id, "reason": reason, "created_at": now, "available_at": now, "attempts": 0}
        for work_id in work_ids])
