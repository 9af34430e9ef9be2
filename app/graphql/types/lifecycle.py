from __future__ import annotations

from datetime import datetime

import strawberry

from app.domain.lifecycle.runs import Deletion
from app.store.lifecycle import ErasureReceipt as ReceiptRecord


@strawberry.type(description="How many documents of one collection went.")
class CollectionCount:
    collection: str
    count: int


def _counts(counts: dict[str, int]) -> list[CollectionCount]:
    return [CollectionCount(collection=name, count=n) for name, n in sorted(counts.items())]


@strawberry.type(
    description="That an erasure happened: who asked, when, how much went. Never whose data it was."
)
class ErasureReceipt:
    id: strawberry.ID
    kind: str = strawberry.field(description="end_user or end_user_with_runs")
    by: str
    at: datetime
    counts: list[CollectionCount]

    @classmethod
    def from_record(cls, r: ReceiptRecord) -> ErasureReceipt:
        return cls(id=strawberry.ID(r.id), kind=r.kind, by=r.by, at=r.at, counts=_counts(r.counts))


@strawberry.type
class RunDeletion:
    runs: int = strawberry.field(description="Runs deleted (0 when they were already gone).")
    counts: list[CollectionCount]

    @classmethod
    def from_deletion(cls, d: Deletion) -> RunDeletion:
        counts = d.counts()
        return cls(runs=counts.get("runs", 0), counts=_counts(counts))
