from __future__ import annotations

from strawberry.dataloader import DataLoader

from app.store import Stores
from app.store.runs import Run


def run_loader(stores: Stores, project_id: str) -> DataLoader[str, Run | None]:
    async def load(ids: list[str]) -> list[Run | None]:
        found = {r.id: r for r in await stores.runs.get_many(project_id, ids)}
        return [found.get(i) for i in ids]

    return DataLoader(load_fn=load)
