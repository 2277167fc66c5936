"""Bearer tokens and roles.

A token is shown once at creation; only its SHA-256 is stored (tokens are 256 random bits, so a
fast hash is enough). Roles: ``admin`` (everything) and ``editor`` (works of their own centres).
Anonymous clients read published works only.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from fastapi import Depends, Request
from sqlalchemy.orm import Session

from repo.centres.models import MemberCentre
from repo.db import get_session
from repo.deposit.models import ApiToken
from repo.errors import Forbidden, NotFound, Unauthorized, Unprocessable

TOKEN_PREFIX = "repo_"


class TokenRole(StrEnum):
    admin = "admin"
    editor = "editor"


@dataclass(frozen=True)
class Principal:
    """Who is asking. ``token_id`` is None for anonymous readers."""

    token_id: int | None = None
    name: str = "anonymous"
    role: str = "anonymous"
    centre_ids: frozenset[int] = field(default_factory=frozenset)

    @property
    def is_anonymous(self) -> bool:
        return self.token_id is None

    @property
    def is_admin(self) -> bool:
        return self.role == TokenRole.admin

    def can_edit_centre(self, centre_id: int) -> bool:
        return self.is_admin or centre_id in self.centre_ids

    def require_user(self) -> None:
        if self.is_anonymous:
            raise Unauthorized("This action needs a bearer token.")

    def require_admin(self) -> None:
        self.require_user()
        if not self.is_admin:
            raise Forbidden("This action is reserved to administrators.")

    def require_centre(self, centre_id: int) -> None:
        self.require_user()
        if not self.can_edit_centre(centre_id):
            raise Forbidden("Your token is not scoped to this work's member centre.")


ANONYMOUS = Principal()


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def create_token(
    session: Session, *, name: str, role: TokenRole, centre_slugs: list[str], now: datetime
) -> tuple[str, ApiToken]:
    """Store a new token and return ``(raw token, row)``; the raw value is never stored."""
    centres = []
    for slug in centre_slugs:
        centre = session.scalar(sa.select(MemberCentre).where(MemberCentre.slug == slug))
        if centre is None:
            raise NotFound(f"No member centre '{slug}'.")
        centres.append(centre)
    if role == TokenRole.editor and not centres:
        raise Unprocessable("An editor token needs at least one centre.")
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(name=name, token_hash=hash_token(raw), role=role, created_at=now, centres=centres)
    session.add(token)
    session.flush()
    return raw, token


def revoke_token(session: Session, token_id: int, now: datetime) -> ApiToken:
    token = session.get(ApiToken, token_id)
    if token is None:
        raise NotFound(f"No token {token_id}.")
    token.revoked_at = token.revoked_at or now
    return token


def authenticate(session: Session, authorization: str | None) -> Principal:
    if not authorization:
        return ANONYMOUS
    scheme, _, raw = authorization.partition(" ")
    raw = raw.strip()
    if scheme.lower() != "bearer" or not raw:
        raise Unauthorized("Use 'Authorization: Bearer <token>'.")
    token = session.scalar(sa.select(ApiToken).where(ApiToken.token_hash == hash_token(raw)))
    if token is None or token.revoked_at is not None:
        raise Unauthorized("The token is unknown or revoked.")
    return Principal(
        token_id=token.id,
        name=token.name,
        role=token.role,
        centre_ids=frozenset(c.id for c in token.centres),
    )


def get_principal(request: Request, session: Session = Depends(get_session, scope="function")) -> Principal:
    return authenticate(session, request.headers.get("authorization"))
