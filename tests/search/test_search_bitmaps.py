"""The embedded backend's bitmap helpers: id lists to bitmaps, bitmaps to SQL digit blobs and back."""

from __future__ import annotations

import random
import sqlite3

from repo.search.embedded.bitmaps import Bitmaps


def test_from_ids_members_and_digits_round_trip() -> None:
    bitmaps = Bitmaps()
    assert bitmaps.from_ids([]) == 0  # an empty index: no digits at all
    ids = sorted(random.Random(4).sample(range(5000), 700))
    mask = bitmaps.from_ids(ids + ids[:10])  # beyond the (empty) bitmaps' size, repeats allowed
    assert mask == sum(1 << i for i in ids)
    assert Bitmaps.members(mask) == ids and Bitmaps.members(0) == []
    digits = Bitmaps.digits(mask)
    assert [i for i, d in enumerate(digits) if d == ord("1")] == ids
    # the SQL membership test the backend uses, past the last member too
    conn = sqlite3.connect(":memory:")
    found = [row[0] for row in conn.execute(
        "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 6000) "
        "SELECT i FROM n WHERE substr(:m, i + 1, 1) = x'31'", {"m": digits})]
    assert found == ids
