"""DataLoaders, built per request so nothing is cached across requests or projects."""

from __future__ import annotations

from dataclasses import dataclass

from strawberry.dataloader import DataLoader

from app.graphql.loaders.feedback import feedback_by_run_loader, feedback_stats_loader
from app.graphql.loaders.runs import run_loader
from app.graphql.loaders.tracing_projects import tracing_project_loader
from app.store import Stores
from app.store.feedback import Feedback, KeyStatsRow
from app.store.runs import Run
from app.store.tracing_projects import TracingProject


@dataclass(frozen=True)
class Loaders:
    runs: DataLoader[str, Run | None]
    feedback_by_run: DataLoader[str, list[Feedback]]
    feedback_stats: DataLoader[str, list[KeyStatsRow]]
    tracing_projects: DataLoader[str, TracingProject | None]

    @classmethod
    def build(cls, stores: Stores, project_id: str | None) -> Loaders:
        # Without a principal the loaders are never reached: every field that leads
        # to them checks permission first. An empty project id matches nothing.
        pid = project_id or ""
        return cls(
            runs=run_loader(stores, pid),
            feedback_by_run=feedback_by_run_loader(stores, pid),
            feedback_stats=feedback_stats_loader(stores, pid),
            tracing_projects=tracing_project_loader(stores, pid),
        )
