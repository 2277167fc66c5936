"""The per-request context that handlers pass to services: session, principal, clock, settings."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from repo.clock import Clock
from repo.config import Settings
from repo.db import get_session
from repo.deposit.auth import Principal, get_principal
from repo.files.storage import FileStore


@dataclass
class Context:
    session: Session
    principal: Principal
    now: datetime  # the request's instant: one "now" for every check and stamp of a request
    settings: Settings
    clock: Clock | None = None  # the time after the request commits (works.service restamps datestamps)
    files: FileStore | None = None  # where stored bytes live (chosen by the composition root)


def get_context(
    request: Request,
    session: Session = Depends(get_session, scope="function"),
    principal: Principal = Depends(get_principal),
) -> Context:
    clock = request.app.state.clock
    return Context(session, principal, clock.now(), request.app.state.settings, clock, request.app.state.files)


def get_user_context(ctx: Context = Depends(get_context)) -> Context:
    """The context of a write: 401 before the body is even validated when there is no token."""
    ctx.principal.require_user()
    return ctx
