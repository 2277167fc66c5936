"""``Idempotency-Key`` on POST: a retried request gets the first response instead of a duplicate.

The key is scoped to the token. The stored response is written in the same transaction as the
change it describes, so a rolled-back request leaves no key behind. The same key with another
body is refused (422).
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

from repo.context import Context, get_context
from repo.deposit.models import IdempotencyRecord
from repo.errors import FieldError, Unprocessable

HEADER = "Idempotency-Key"


class Idempotency:
    def __init__(self, ctx: Context, key: str | None, fingerprint: str) -> None:
        self.ctx, self.key, self.fingerprint = ctx, key, fingerprint

    def run(self, status: int, action: Callable[[], tuple[Any, dict[str, str]]]) -> JSONResponse:
        """Replay the stored answer for this key, or run ``action`` -> (body, headers) and store it."""
        if self.key is None or self.ctx.principal.token_id is None:
            body, headers = action()
            return JSONResponse(jsonable_encoder(body), status_code=status, headers=headers)
        stored = self.ctx.session.scalar(
            sa.select(IdempotencyRecord).where(
                IdempotencyRecord.token_id == self.ctx.principal.token_id, IdempotencyRecord.key == self.key
            )
        )
        if stored is not None:
            if stored.fingerprint != self.fingerprint:
                raise Unprocessable(
                    "This Idempotency-Key was used with another request.",
                    errors=[FieldError(f"header.{HEADER}", "reused with a different request")],
                )
            headers = {**stored.response["headers"], "Idempotent-Replayed": "true"}
            return JSONResponse(stored.response["body"], status_code=stored.status_code, headers=headers)
        body, headers = action()
        encoded = jsonable_encoder(body)
        self.ctx.session.add(IdempotencyRecord(
            token_id=self.ctx.principal.token_id, key=self.key, fingerprint=self.fingerprint,
            status_code=status, response={"body": encoded, "headers": headers}, created_at=self.ctx.now,
        ))
        self.ctx.session.flush()
        return JSONResponse(encoded, status_code=status, headers=headers)


async def idempotency(request: Request, ctx: Context = Depends(get_context)) -> Idempotency:
    key = request.headers.get(HEADER)
    if key is not None and not 1 <= len(key) <= 255:
        raise Unprocessable("Invalid Idempotency-Key.", errors=[FieldError(f"header.{HEADER}", "1 to 255 characters")])
    raw = await request.body()
    try:
        canonical = json.dumps(json.loads(raw), sort_keys=True, separators=(",", ":")).encode()
    except ValueError:
        canonical = raw
    digest = hashlib.sha256(request.method.encode() + b" " + request.url.path.encode() + b"\n" + canonical)
    return Idempotency(ctx, key, digest.hexdigest())
