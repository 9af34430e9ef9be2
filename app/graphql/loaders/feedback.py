from __future__ import annotations

from collections import defaultdict

from strawberry.dataloader import DataLoader

from app.store import Stores
from app.store.feedback import Feedback, KeyStatsRow


def feedback_by_run_loader(stores: Stores, project_id: str) -> DataLoader[str, list[Feedback]]:
    async def load(run_ids: list[str]) -> list[list[Feedback]]:
        by_run: dict[str, list[Feedback]] = defaultdict(list)
        for record in await stores.feedback.for_runs(project_id, run_ids):
            by_run[record.run_id].append(record)
        return [by_run.get(i, []) for i in run_ids]

    return DataLoader(load_fn=load)


def feedback_stats_loader(stores: Stores, project_id: str) -> DataLoader[str, list[KeyStatsRow]]:
    async def load(run_ids: list[str]) -> list[list[KeyStatsRow]]:
        by_run: dict[str, list[KeyStatsRow]] = defaultdict(list)
        for row in await stores.feedback.stats_for_runs(project_id, run_ids):
            by_run[row.run_id].append(row)
        return [by_run.get(i, []) for i in run_ids]

    return DataLoader(load_fn=load)
