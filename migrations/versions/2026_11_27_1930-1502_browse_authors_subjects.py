"""browse_counts: authors and subjects of the published works, for the alphabetical indexes

Revision ID: 1502
Revises: 1501
Create Date: 2026-11-27 19:30:00
"""

from __future__ import annotations

import json
import unicodedata
from collections import Counter
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "1502"
down_revision: str | None = "1501"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The keys as of this revision (repo.works.counts keeps them from here on), copied so that the
# migration does not depend on code that may change later: dimension "author:<letter>" or
# "subject:<letter>", key "<folded label>\x1f<label>".


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return " ".join("".join(c for c in decomposed if not unicodedata.combining(c)).casefold().split())


def _terms(doc: Any) -> set[tuple[str, str]]:
    if isinstance(doc, str):
        doc = json.loads(doc)
    if not isinstance(doc, dict):
        return set()
    people = []
    for creator in doc.get("creators") or []:
        if isinstance(creator, dict):
            family, given = creator.get("family"), creator.get("given")
            people.append(f"{family}, {given}" if family and given else str(family or creator.get("name") or ""))
    subjects = [str(s.get("value") or "") for s in doc.get("subjects") or [] if isinstance(s, dict)]
    found = set()
    for kind, labels in (("author", people), ("subject", subjects)):
        for label in labels:
            label = " ".join(label.split())[:300]
            folded = _fold(label)[:120]
            if folded:
                letter = folded[0] if "a" <= folded[0] <= "z" else "#"
                found.add((f"{kind}:{letter}", f"{folded}\x1f{label}"))
    return found


def upgrade() -> None:
    connection = op.get_bind()
    totals: Counter[tuple[str, str]] = Counter()
    for (doc,) in connection.execute(sa.text("SELECT metadata FROM works WHERE status = 'published'")):
        totals.update(_terms(doc))
    table = sa.table("browse_counts", sa.column("dimension"), sa.column("key"), sa.column("count"))
    rows = [{"dimension": d, "key": k, "count": n} for (d, k), n in sorted(totals.items())]
    for start in range(0, len(rows), 1000):
        connection.execute(table.insert(), rows[start:start + 1000])


def downgrade() -> None:
    op.execute("DELETE FROM browse_counts WHERE dimension LIKE 'author:%' OR dimension LIKE 'subject:%'")
