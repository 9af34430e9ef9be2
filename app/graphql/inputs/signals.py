from __future__ import annotations

from datetime import datetime

import strawberry

from app.graphql.types.signals import SignalKind
from app.store.signals import SignalQuery


@strawberry.input(description="Every filter given must hold.")
class SignalFilter:
    run_ids: list[strawberry.ID] | None = None
    kinds: list[SignalKind] | None = None
    user_ids: list[str] | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None

    def to_query(self) -> SignalQuery:
        return SignalQuery(
            run_ids=[str(i) for i in self.run_ids] if self.run_ids is not None else None,
            kinds=[k.value for k in self.kinds] if self.kinds is not None else None,
            user_ids=self.user_ids,
            created_after=self.created_after,
            created_before=self.created_before,
        )
