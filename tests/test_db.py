"""The unit of work: after_commit follow-ups run once the change is committed, never after a rollback."""

from __future__ import annotations

import logging

import pytest
import sqlalchemy as sa

from repo.centres.models import MemberCentre
from repo.db import Database, after_commit


def _centres(database: Database) -> set[str]:
    with database.session() as session:
        return set(session.scalars(sa.select(MemberCentre.slug)))


def test_a_follow_up_runs_after_the_commit_in_its_own_unit_of_work(database: Database, clock) -> None:  # type: ignore[no-untyped-def]
    seen: list[set[str]] = []
    with database.session() as session:
        session.add(MemberCentre(slug="nuevo", name="Nuevo", created_at=clock.now(), updated_at=clock.now()))
        after_commit(session, lambda later: seen.append(set(later.scalars(sa.select(MemberCentre.slug)))))
        session.flush()
        assert seen == []  # not before the commit
    assert seen == [{"nuevo"}]  # the committed change is visible to it


def test_no_follow_up_after_a_rollback_and_a_failing_one_is_logged(database: Database, clock, caplog) -> None:  # type: ignore[no-untyped-def]
    ran: list[str] = []
    with pytest.raises(RuntimeError), database.session() as session:
        session.add(MemberCentre(slug="nunca", name="Nunca", created_at=clock.now(), updated_at=clock.now()))
        after_commit(session, lambda later: ran.append("rolled back"))
        raise RuntimeError("the request failed")
    assert ran == [] and "nunca" not in _centres(database)

    def broken(later: object) -> None:
        raise ValueError("follow-up failed")

    with caplog.at_level(logging.ERROR, logger="repo.db"), database.session() as session:
        session.add(MemberCentre(slug="hecho", name="Hecho", created_at=clock.now(), updated_at=clock.now()))
        after_commit(session, broken)
    assert "hecho" in _centres(database)  # the change stays committed
    assert "follow-up of a committed change failed" in caplog.text
