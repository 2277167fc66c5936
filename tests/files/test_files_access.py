"""The access matrix: every path that reveals a file's content, for every kind of reader.

Paths: the bytes (GET and HEAD), the thumbnail, the extracted text, and the links in the file
records of the deposit API. Readers: anonymous, an editor of another centre, the work's centre
editor, an administrator.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from file_pdfs import text_pdf

from repo.clock import ManualClock

NAME = "libro.pdf"
PDF = text_pdf(["Capítulo uno", "Capítulo dos"])
READERS = ("anonymous", "editor_b", "editor_a", "admin")
CONTENT_PATHS = ("", "/thumbnail", "/text")


def statuses(client: TestClient, auth: Any, work: int) -> dict[str, dict[str, int]]:
    """``{reader: {path: status}}`` for every content path, plus whether the API record links to it."""
    table: dict[str, dict[str, int]] = {}
    for reader in READERS:
        headers = getattr(auth, reader)
        row = {f"GET{p}": client.get(f"/works/{work}/files/{NAME}{p}", headers=headers).status_code
               for p in CONTENT_PATHS}
        row["HEAD"] = client.head(f"/works/{work}/files/{NAME}", headers=headers).status_code
        record = client.get(f"/api/works/{work}/files/{NAME}", headers=headers)
        listing = client.get(f"/api/works/{work}/files", headers=headers)
        if record.status_code == 200:
            links = record.json()["links"]
            listed = listing.json()["items"][0]["links"]
            assert links == listed
            # A link is shown exactly when following it works.
            row["links"] = 200 if links["download"] and links["thumbnail"] and links["text"] else 403
            assert not (links["download"] or links["thumbnail"] or links["text"]) or row["links"] == 200
        else:
            row["links"] = record.status_code
        table[reader] = row
    return table


def expect(anonymous: int, editor_b: int, editor_a: int = 200, admin: int = 200) -> dict[str, dict[str, int]]:
    keys = [f"GET{p}" for p in CONTENT_PATHS] + ["HEAD", "links"]
    return {reader: dict.fromkeys(keys, status) for reader, status in
            zip(READERS, (anonymous, editor_b, editor_a, admin), strict=True)}


def with_file(client: TestClient, auth: Any, work: int, **access: str) -> None:
    query = "&".join(f"{k}={v}" for k, v in access.items())
    response = client.put(f"/api/works/{work}/files/{NAME}?{query}", content=PDF, headers=auth.editor_a)
    assert response.status_code == 201, response.text
    assert response.json()["text_state"] == "pending"
    record = client.get(f"/api/works/{work}/files/{NAME}", headers=auth.editor_a).json()
    assert (record["text_state"], record["has_thumbnail"]) == ("done", True), record


def test_open_file_is_open_to_everyone(client: TestClient, auth: Any, make_work: Any) -> None:
    work = make_work(status="published")
    with_file(client, auth, work)
    assert statuses(client, auth, work) == expect(200, 200)


@pytest.mark.parametrize("access_right", ["restricted", "metadata_only"])
def test_closed_work_closes_its_files(access_right: str, client: TestClient, auth: Any, make_work: Any) -> None:
    work = make_work(status="published", access_right=access_right)
    with_file(client, auth, work)
    assert statuses(client, auth, work) == expect(403, 403)


def test_work_embargo_holds_on_every_path_and_ends_by_itself(client: TestClient, auth: Any, make_work: Any,
                                                              clock: ManualClock) -> None:
    end = clock.now().date() + timedelta(days=10)
    work = make_work(status="published", access_right="embargoed", embargo_end=end)
    with_file(client, auth, work)
    assert statuses(client, auth, work) == expect(403, 403)
    body = client.get(f"/works/{work}/files/{NAME}").json()
    assert end.isoformat() in body["detail"]
    # The day before: still closed. At the start of the end date (UTC): open, nobody touched the work.
    clock.advance(days=9)
    assert statuses(client, auth, work) == expect(403, 403)
    clock.set(clock.now().replace(year=end.year, month=end.month, day=end.day, hour=0, minute=0, second=0))
    assert statuses(client, auth, work) == expect(200, 200)


def test_file_embargo_overrides_an_open_work(client: TestClient, auth: Any, make_work: Any, clock: ManualClock) -> None:
    work = make_work(status="published")
    end = clock.now().date() + timedelta(days=3)
    with_file(client, auth, work, access_right="embargoed", embargo_end=end.isoformat())
    assert statuses(client, auth, work) == expect(403, 403)
    record = client.get(f"/api/works/{work}/files/{NAME}").json()
    assert (record["access_right"], record["effective_access"], record["open"]) == ("embargoed", "embargoed", False)
    clock.advance(days=4)
    assert statuses(client, auth, work) == expect(200, 200)
    assert client.get(f"/api/works/{work}/files/{NAME}").json()["effective_access"] == "open"


def test_open_file_in_a_restricted_work(client: TestClient, auth: Any, make_work: Any) -> None:
    work = make_work(status="published", access_right="restricted")
    with_file(client, auth, work, access_right="open")
    assert statuses(client, auth, work) == expect(200, 200)


def test_restricted_file_in_an_open_work(client: TestClient, auth: Any, make_work: Any) -> None:
    work = make_work(status="published")
    with_file(client, auth, work, access_right="restricted")
    assert statuses(client, auth, work) == expect(403, 403)


def test_draft_files_are_invisible_to_the_public(client: TestClient, auth: Any, make_work: Any) -> None:
    work = make_work()
    with_file(client, auth, work)
    assert statuses(client, auth, work) == expect(404, 404)


def test_withdrawn_work_files_are_gone(client: TestClient, auth: Any, make_work: Any) -> None:
    work = make_work(status="published")
    with_file(client, auth, work)
    response = client.post(f"/api/works/{work}/withdraw", json={"reason": "Retracted by the authors."},
                           headers=auth.editor_a)
    assert response.status_code == 200, response.text
    assert statuses(client, auth, work) == expect(410, 410)


def test_an_invalid_token_is_refused_not_downgraded(client: TestClient, auth: Any, make_work: Any,
                                                    clock: ManualClock) -> None:
    work = make_work(status="published", access_right="embargoed", embargo_end=clock.now().date() + timedelta(days=5))
    with_file(client, auth, work)
    response = client.get(f"/works/{work}/files/{NAME}", headers={"Authorization": "Bearer repo_forged"})
    assert response.status_code == 401


def test_end_of_a_file_embargo_moves_the_work_datestamp(client: TestClient, auth: Any, make_work: Any,
                                                        clock: ManualClock, database: Any) -> None:
    """Harvesters must see the file link appear: the lift gives the work a datestamp at that moment."""
    from datetime import UTC, datetime

    from repo.works.models import Work
    from repo.works.service import lift_embargoes

    work = make_work(status="published")
    end = clock.now().date() + timedelta(days=2)
    with_file(client, auth, work, access_right="embargoed", embargo_end=end.isoformat())
    with database.session() as session:
        stamped = session.get(Work, work).datestamp
        assert lift_embargoes(session, clock.now()) == 0  # not due yet
    clock.advance(days=3)
    with database.session() as session:
        assert lift_embargoes(session, clock.now()) == 1
        lifted = datetime(end.year, end.month, end.day, tzinfo=UTC)
        assert session.get(Work, work).datestamp == lifted > stamped
    with database.session() as session:
        assert lift_embargoes(session, clock.now()) == 0  # done once
