"""Resumption tokens: stateless, signed, URL-safe and expiring (OAI-PMH §3.5).

A token carries everything the next page needs, so any worker can serve it and nothing is stored:
the verb, metadataPrefix, set and ``from`` of the original request, ``until`` frozen at the first
page's responseDate (records changed after the harvest began move past it and are picked up by the
next incremental harvest instead of shifting pages), the last ``(datestamp, id)`` sent (keyset
paging: page 10 000 costs what page 1 costs), the cursor and the completeListSize counted once.

It is signed with :class:`repo.signing.Signer` under its own salt, so a token of another kind
(a REST list cursor) or of another verb is foreign. Expiry is checked against the injected clock:
the token carries the instant it was issued.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from repo.oai.errors import BadResumptionToken
from repo.signing import InvalidToken, Signer

SALT = "oai-token"


@dataclass(frozen=True)
class Position:
    """Where a list request stands."""

    verb: str
    prefix: str
    set_spec: str | None
    lower: datetime | None
    upper: datetime  # frozen at the first page's responseDate (or the request's until, if earlier)
    after: tuple[datetime, int] | None  # the last (datestamp, id) already sent
    cursor: int  # items sent on earlier pages (§3.5: cursor starts at 0)
    total: int  # completeListSize, counted on the first page

    def advance(self, last: tuple[datetime, int], sent: int) -> "Position":
        return replace(self, after=last, cursor=self.cursor + sent)


def _stamp(value: datetime | None) -> int | None:
    return None if value is None else int(value.timestamp())


def _instant(value: Any) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(int(value), UTC)


class TokenCodec:
    def __init__(self, secret: str, ttl_seconds: int) -> None:
        self._signer = Signer(secret, SALT)
        self.ttl = timedelta(seconds=ttl_seconds)

    def expiration(self, now: datetime) -> datetime:
        return now + self.ttl

    def encode(self, position: Position, now: datetime) -> str:
        after = position.after
        return self._signer.dumps([
            1,  # format version
            position.verb,
            position.prefix,
            position.set_spec,
            _stamp(position.lower),
            _stamp(position.upper),
            _stamp(after[0]) if after else None,
            after[1] if after else None,
            position.cursor,
            position.total,
            _stamp(now),
        ], now)

    def decode(self, token: str, verb: str, now: datetime) -> Position:
        """The position a token stands for; :class:`BadResumptionToken` if it is not ours, not for
        this verb, malformed or expired."""
        try:
            payload = self._signer.loads(token)
            version, token_verb, prefix, set_spec, lower, upper, after_at, after_id, cursor, total, issued = payload
            if version != 1 or not isinstance(prefix, str) or not isinstance(set_spec, (str, type(None))):
                raise ValueError("unknown token layout")
            issued_at = _instant(issued)
            position = Position(
                verb=str(token_verb),
                prefix=prefix,
                set_spec=set_spec,
                lower=_instant(lower),
                upper=_instant(upper),  # type: ignore[arg-type]
                after=(_instant(after_at), int(after_id)) if after_at is not None else None,  # type: ignore[arg-type]
                cursor=int(cursor),
                total=int(total),
            )
        except (InvalidToken, ValueError, TypeError, OverflowError, OSError):
            raise BadResumptionToken("The resumptionToken is not one this repository issued.") from None
        if position.verb != verb:
            raise BadResumptionToken(f"The resumptionToken was issued for {position.verb}, not {verb}.")
        if issued_at is None or position.upper is None or now > issued_at + self.ttl:
            raise BadResumptionToken("The resumptionToken has expired; start the list again.")
        return position
