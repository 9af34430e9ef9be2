from __future__ import annotations

from strawberry.dataloader import DataLoader

from app.store import Stores
from app.store.tracing_projects import TracingProject


def tracing_project_loader(
    stores: Stores, project_id: str
) -> DataLoader[str, TracingProject | None]:
    async def load(ids: list[str]) -> list[TracingProject | None]:
        found = {t.id: t for t in await stores.tracing_projects.get_many(project_id, ids)}
        return [found.get(i) for i in ids]

    return DataLoader(load_fn=load)
