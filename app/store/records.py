"""What most stores share: records that belong to a project, read one by id, or a
page at a time, newest first (keyset pagination over ``time_field``, see
app/store/pagination.py)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Generic, TypeVar

from pymongo.asynchronous.collection import AsyncCollection

from app.store.pagination import Page, fetch_page

R = TypeVar("R")


class ProjectRecords(Generic[R]):
    """A store's collection of one kind of record, each built with ``build``."""

    def __init__(
        self,
        collection: AsyncCollection[dict[str, Any]],
        build: Callable[[dict[str, Any]], R],
        *,
        time_field: str = "created_at",
        projection: Mapping[str, Any] | None = None,
    ) -> None:
        self.collection = collection
        self._build = build
        self._time_field = time_field
        self._projection = projection

    async def get(self, project_id: str, record_id: str) -> R | None:
        # By _id alone, the project checked here: with project_id beside _id the
        # embedded store's planner scans the collection (see the README's
        # embedded database section).
        doc = await self.collection.find_one({"_id": record_id}, self._projection)
        return self._build(doc) if doc and doc["project_id"] == project_id else None

    async def _page(
        self, query: Mapping[str, Any], first: int | None, after: str | None
    ) -> Page[R]:
        """The records matching ``query``, newest first, ``first`` after cursor ``after``."""
        return await fetch_page(
            self.collection,
            query,
            first=first,
            after=after,
            time_field=self._time_field,
            build=self._build,
            projection=self._projection,
        )
