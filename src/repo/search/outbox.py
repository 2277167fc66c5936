"""Writing to the outbox: called by services inside the transaction that makes the change."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from repo.search.models import OutboxEntry


def enqueue(session: Session, work_id: int, reason: str, now: datetime) -> None:
    session.add(OutboxEntry(work_id=work_id, reason=reason, created_at=now, available_at=now, attempts=0))
