"""Signed, URL-safe, expiring tokens (OAI resumption tokens, list cursors) via itsdangerous.

Stateless: any worker with the secret can read a token another worker issued.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from itsdangerous import BadData, URLSafeTimedSerializer


class InvalidToken(Exception):
    """Tampered, foreign, malformed or expired."""


class Signer:
    def __init__(self, secret: str, salt: str) -> None:
        self._serializer = URLSafeTimedSerializer(secret, salt=salt)

    def dumps(self, payload: Any, now: datetime | None = None) -> str:
        """The signed token; its signature's timestamp is ``now`` when given (the injected clock,
        so that the same payload at the same moment is the same token), else the system time."""
        if now is None:
            return str(self._serializer.dumps(payload))
        signer = self._serializer.make_signer(self._serializer.salt)
        signer.get_timestamp = lambda: int(now.timestamp())  # type: ignore[method-assign]
        return signer.sign(self._serializer.dump_payload(payload)).decode("ascii")

    def loads(self, token: str, max_age: int | None = None, now: datetime | None = None) -> Any:
        try:
            payload, signed_at = self._serializer.loads(token, max_age=None, return_timestamp=True)
        except (BadData, ValueError, TypeError, UnicodeError) as exc:
            raise InvalidToken(str(exc)) from None
        if max_age is not None and now is not None and (now - signed_at).total_seconds() > max_age:
            raise InvalidToken("expired")
        return payload
