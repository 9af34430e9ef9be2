"""How long a deleted feedback record's tombstone is kept.

A tombstone keeps the record's ids, key and times, so that a create retried with
the same id (a client that did not see its first answer) is refused instead of
bringing the record back. Clients retry within minutes; after TOMBSTONE_DAYS the
tombstone is removed by a TTL index (app/store/indexes.py)."""

from __future__ import annotations

from datetime import datetime, timedelta

TOMBSTONE_DAYS = 30


def purge_at(now: datetime) -> datetime:
    return now + timedelta(days=TOMBSTONE_DAYS)
