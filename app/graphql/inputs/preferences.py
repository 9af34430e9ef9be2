from __future__ import annotations

from datetime import datetime

import strawberry

from app.domain import validation as v
from app.store.preferences import PreferenceQuery


@strawberry.input(description="Every filter given must hold.")
class PreferenceFilter:
    keys: list[str] | None = None
    run_id: strawberry.ID | None = strawberry.field(
        default=None, description="Preferences involving this run, on either side."
    )
    user_ids: list[str] | None = None
    tied: bool | None = strawberry.field(
        default=None, description="true: only ties; false: only real preferences."
    )
    created_after: datetime | None = None
    created_before: datetime | None = None
    comparative_experiment_id: strawberry.ID | None = strawberry.field(
        default=None, description="Preferences a pairwise evaluator made in this comparison."
    )

    def to_query(self) -> PreferenceQuery:
        return PreferenceQuery(
            keys=self.keys,
            run_id=v.check_uuid(str(self.run_id), "runId") if self.run_id else None,
            user_ids=self.user_ids,
            tied=self.tied,
            created_after=self.created_after,
            created_before=self.created_before,
            comparative_experiment_id=(
                v.check_uuid(str(self.comparative_experiment_id), "comparativeExperimentId")
                if self.comparative_experiment_id
                else None
            ),
        )
