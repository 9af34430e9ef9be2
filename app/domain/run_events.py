"""Runs written, announced to whoever acts on new or completed runs.

``ingest_runs`` (app/domain/runs.py), once the runs are stored, publishes the
stored runs here. The one observer today is online evaluation's queue
(app/domain/evaluation/queue.py), which decides in process which runs its rules
sample and queues them. Observers attach to a :class:`~app.store.Stores` for the
lifetime of an app, as feedback observers do (app/domain/feedback_events.py).

Unlike a feedback observer's, a run observer's database errors reach the client:
the runs are stored, but an evaluation that could not be queued would be lost, and
ingestion is an idempotent upsert the client retries. Its other errors are logged.
"""

from __future__ import annotations

import logging
from typing import Protocol

from app.store import Stores
from app.store.errors import DatabaseError
from app.store.runs import Run

log = logging.getLogger("plaudit.events")


class RunObserver(Protocol):
    async def runs_written(self, project_id: str, runs: list[Run]) -> None: ...


_observers: dict[int, list[RunObserver]] = {}


def attach(stores: Stores, observer: RunObserver) -> None:
    _observers.setdefault(id(stores), []).append(observer)


def detach(stores: Stores, observer: RunObserver) -> None:
    observers = _observers.get(id(stores), [])
    if observer in observers:
        observers.remove(observer)
    if not observers:
        _observers.pop(id(stores), None)


async def publish(stores: Stores, project_id: str, runs: list[Run]) -> None:
    for observer in list(_observers.get(id(stores), ())):
        try:
            await observer.runs_written(project_id, runs)
        except DatabaseError:
            raise
        except Exception:
            log.exception("run observer %s failed on %d runs", type(observer).__name__, len(runs))
