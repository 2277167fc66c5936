"""``Idempotency-Key`` on POST: a retried request gets the first response instead of a duplicate.

The key is scoped to the token. The stored response is written in the same transaction as the
change it describes, so a rolled-back request leaves no key behind. The same key with another
body is refused (422).

Concurrent requests with one key: the unit of work becomes a writer (:func:`repo.db.lock_for_write`)
and *claims* the key first — ``INSERT … ON CONFLICT DO NOTHING`` — before doing anything. The
claim waits for a concurrent claim of the same key to commit or roll back (PostgreSQL waits on the
unique index, SQLite on its write lock); if that one committed, this request replays its response,
else it proceeds. A claim that cannot be decided within a few seconds answers 409 "in progress"
with ``Retry-After``. So exactly one change is made, and no request fails on the unique constraint.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from fastapi import Depends, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import OperationalError

from repo.context import Context, get_context
from repo.db import is_busy, lock_for_write
from repo.deposit.models import IdempotencyRecord
from repo.errors import Conflict, FieldError, Unprocessable

HEADER = "Idempotency-Key"
CLAIM_WAIT_SECONDS = 10  # how long a request waits for a concurrent one with its key


class Idempotency:
    def __init__(self, ctx: Context, key: str | None, fingerprint: str) -> None:
        self.ctx, self.key, self.fingerprint = ctx, key, fingerprint

    def run(self, status: int, action: Callable[[], tuple[Any, dict[str, str]]]) -> JSONResponse:
        """Replay the stored answer for this key, or run ``action`` -> (body, headers) and store it."""
        if self.key is None or self.ctx.principal.token_id is None:
            body, headers = action()
            return JSONResponse(jsonable_encoder(body), status_code=status, headers=headers)
        if not self._claim():
            return self._replay()
        body, headers = action()
        encoded = jsonable_encoder(body)
        self.ctx.session.execute(
            sa.update(IdempotencyRecord).where(*self._this_key())
            .values(status_code=status, response={"body": encoded, "headers": headers})
        )
        return JSONResponse(encoded, status_code=status, headers=headers)

    def _this_key(self) -> tuple[sa.ColumnElement[bool], ...]:
        return IdempotencyRecord.token_id == self.ctx.principal.token_id, IdempotencyRecord.key == self.key

    def _claim(self) -> bool:
        """Insert this key (no response yet) unless it exists; True when this request owns it."""
        session = self.ctx.session
        postgres = session.get_bind().dialect.name == "postgresql"
        try:
            lock_for_write(session)
            if postgres:
                session.execute(sa.text(f"SET LOCAL lock_timeout = '{CLAIM_WAIT_SECONDS}s'"))
            insert = (postgresql.insert if postgres else sqlite.insert)(IdempotencyRecord.__table__).values(
                token_id=self.ctx.principal.token_id, key=self.key, fingerprint=self.fingerprint,
                status_code=0, response={}, created_at=self.ctx.now)
            claimed = session.scalar(insert.on_conflict_do_nothing(index_elements=["token_id", "key"])
                                     .returning(IdempotencyRecord.id))
            if postgres:
                session.execute(sa.text("SET LOCAL lock_timeout = DEFAULT"))
        except OperationalError as exc:
            if not is_busy(exc):
                raise
            raise Conflict("A request with this Idempotency-Key is in progress; retry shortly.",
                           headers={"Retry-After": "1"}) from None
        return claimed is not None

    def _replay(self) -> JSONResponse:
        stored = self.ctx.session.scalar(sa.select(IdempotencyRecord).where(*self._this_key()))
        if stored is None or not stored.status_code:  # the claim we waited for is not settled yet
            raise Conflict("A request with this Idempotency-Key is in progress; retry shortly.",
                           headers={"Retry-After": "1"})
        if stored.fingerprint != self.fingerprint:
            raise Unprocessable(
                "This Idempotency-Key was used with another request.",
                errors=[FieldError(f"header.{HEADER}", "reused with a different request")],
            )
        headers = {**stored.response["headers"], "Idempotent-Replayed": "true"}
        return JSONResponse(stored.response["body"], status_code=stored.status_code, headers=headers)


async def idempotency(request: Request, ctx: Context = Depends(get_context)) -> Idempotency:
    key = request.headers.get(HEADER)
    if key is not None and not 1 <= len(key) <= 255:
        raise Unprocessable("Invalid Idempotency-Key.", errors=[FieldError(f"header.{HEADER}", "1 to 255 characters")])
    raw = await request.body()
    try:
        canonical = json.dumps(json.loads(raw), sort_keys=True, separators=(",", ":")).encode()
    except (ValueError, RecursionError):  # not JSON, or nested too deep to re-encode: the raw bytes
        canonical = raw
    digest = hashlib.sha256(request.method.encode() + b" " + request.url.path.encode() + b"\n" + canonical)
    return Idempotency(ctx, key, digest.hexdigest())
