"""Datasets and their versioned examples.

A dataset document holds its current ``version`` (a counter, 0 when empty). Every
change to its examples takes the next version (``dataset_versions`` records when)
and writes example revisions: a revision is current from the version that wrote it
(``version``) until the version that replaced or deleted it (``until``, null while
current). So the examples "as of" version N are the revisions with
``version <= N`` and ``until`` null or above N, and nothing is ever overwritten.
"""

from __future__ import annotations

import contextlib
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from pymongo import ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from app.errors import Conflict
from app.store import jsonsafe
from app.store.pagination import Page, fetch_page
from app.store.queries import one_of


@dataclass(frozen=True)
class Dataset:
    id: str
    project_id: str
    name: str
    description: str | None
    metadata: Any
    inputs_schema: Any
    outputs_schema: Any
    version: int
    created_at: datetime
    modified_at: datetime

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> Dataset:
        return cls(
            id=doc["_id"],
            project_id=doc["project_id"],
            name=doc["name"],
            description=doc.get("description"),
            metadata=jsonsafe.unescape(doc.get("metadata")),
            inputs_schema=jsonsafe.unescape(doc.get("inputs_schema")),
            outputs_schema=jsonsafe.unescape(doc.get("outputs_schema")),
            version=doc.get("version", 0),
            created_at=doc["created_at"],
            modified_at=doc["modified_at"],
        )


@dataclass(frozen=True)
class DatasetVersion:
    dataset_id: str
    version: int
    at: datetime


@dataclass(frozen=True)
class ExampleContent:
    """What an example holds; a new revision replaces all of it."""

    inputs: Any
    outputs: Any = None
    metadata: Any = None
    splits: list[str] = field(default_factory=lambda: ["base"])
    source_run_id: str | None = None
    # The feedback an example built from feedback came from.
    feedback_ids: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Example:
    id: str
    dataset_id: str
    project_id: str
    content: ExampleContent
    # The dataset version that wrote this revision, and the one that ended it.
    version: int
    until: int | None
    created_at: datetime
    modified_at: datetime
    # Examples created together keep the order they were given in: they sort by
    # (created_at, order), and every revision keeps the example's order.
    order: str = ""

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> Example:
        return cls(
            id=doc["example_id"],
            dataset_id=doc["dataset_id"],
            project_id=doc["project_id"],
            content=ExampleContent(
                inputs=jsonsafe.unescape(doc.get("inputs")),
                outputs=jsonsafe.unescape(doc.get("outputs")),
                metadata=jsonsafe.unescape(doc.get("metadata")),
                splits=doc.get("splits") or ["base"],
                source_run_id=doc.get("source_run_id"),
                feedback_ids=doc.get("feedback_ids") or [],
            ),
            version=doc["version"],
            until=doc.get("until"),
            created_at=doc["created_at"],
            modified_at=doc["modified_at"],
            order=doc.get("order") or doc["example_id"],
        )


@dataclass(frozen=True)
class ExampleQuery:
    """Which examples of a dataset: as of a version (None: the current ones),
    in any of these splits, with these ids, with this metadata."""

    as_of: int | None = None
    splits: list[str] | None = None
    ids: list[str] | None = None
    metadata: dict[str, Any] | None = None

    def to_mongo(self, dataset_id: str) -> dict[str, Any]:
        query: dict[str, Any] = {"dataset_id": dataset_id}
        if self.as_of is None:
            query["until"] = None
        else:
            query["version"] = {"$lte": self.as_of}
            query["$or"] = [{"until": None}, {"until": {"$gt": self.as_of}}]
        if self.splits:
            query["splits"] = {"$in": list(self.splits)}
        if self.ids is not None:
            query["example_id"] = {"$in": list(self.ids)}
        for key, value in (self.metadata or {}).items():
            query[f"metadata.{_field_key(key)}"] = jsonsafe.escape(value)
        return query


def _field_key(key: str) -> str:
    escaped = jsonsafe.escape({key: None})
    assert isinstance(escaped, dict)
    return str(next(iter(escaped)))


@dataclass(frozen=True)
class Revision:
    """A new revision of an example; ``created_at`` and ``order`` are None for
    a new example (now, and its place in the call)."""

    example_id: str
    content: ExampleContent
    created_at: datetime | None = None
    order: str | None = None


def _revision_doc(
    record_project: str,
    dataset_id: str,
    revision: Revision,
    position: int,
    version: int,
    now: datetime,
) -> dict[str, Any]:
    example_id, content = revision.example_id, revision.content
    order = revision.order or f"{position:06d}-{example_id}"
    return {
        "_id": f"{order}/{version:010d}",
        "order": order,
        "example_id": example_id,
        "dataset_id": dataset_id,
        "project_id": record_project,
        "version": version,
        "until": None,
        "inputs": jsonsafe.escape(content.inputs),
        "outputs": jsonsafe.escape(content.outputs),
        "metadata": jsonsafe.escape(content.metadata),
        "splits": list(content.splits),
        "source_run_id": content.source_run_id,
        "feedback_ids": list(content.feedback_ids),
        "created_at": revision.created_at or now,
        "modified_at": now,
    }


class DatasetStore:
    def __init__(self, db: AsyncDatabase[dict[str, Any]]) -> None:
        self.collection = db["datasets"]
        self.versions = db["dataset_versions"]
        self.examples = db["examples"]

    # ---- Datasets

    async def create(
        self,
        project_id: str,
        name: str,
        now: datetime,
        *,
        dataset_id: str | None = None,
        description: str | None = None,
        metadata: Any = None,
        inputs_schema: Any = None,
        outputs_schema: Any = None,
    ) -> Dataset:
        """Raises Conflict when the name (or the id) is taken."""
        doc = {
            "_id": dataset_id or str(uuid.uuid4()),
            "project_id": project_id,
            "name": name,
            "description": description,
            "metadata": jsonsafe.escape(metadata),
            "inputs_schema": jsonsafe.escape(inputs_schema),
            "outputs_schema": jsonsafe.escape(outputs_schema),
            "version": 0,
            "created_at": now,
            "modified_at": now,
        }
        try:
            await self.collection.insert_one(doc)
        except DuplicateKeyError:
            raise Conflict(f"a dataset named {name!r} already exists") from None
        return Dataset.from_doc(doc)

    async def get(self, project_id: str, dataset_id: str) -> Dataset | None:
        doc = await self.collection.find_one({"_id": dataset_id, "project_id": project_id})
        return Dataset.from_doc(doc) if doc else None

    async def by_name(self, project_id: str, name: str) -> Dataset | None:
        doc = await self.collection.find_one({"project_id": project_id, "name": name})
        return Dataset.from_doc(doc) if doc else None

    async def get_many(self, project_id: str, dataset_ids: list[str]) -> list[Dataset]:
        docs = await self.collection.find(
            {"project_id": project_id, "_id": one_of(dataset_ids)}
        ).to_list()
        return [Dataset.from_doc(d) for d in docs]

    async def newest_first(self, project_id: str, limit: int) -> list[Dataset]:
        cursor = self.collection.find(
            {"project_id": project_id}, sort=[("created_at", -1), ("_id", -1)]
        )
        return [Dataset.from_doc(d) for d in await cursor.limit(limit).to_list()]

    async def page(self, project_id: str, first: int | None, after: str | None) -> Page[Dataset]:
        return await fetch_page(
            self.collection,
            {"project_id": project_id},
            first=first,
            after=after,
            time_field="created_at",
            build=Dataset.from_doc,
        )

    async def update(
        self, project_id: str, dataset_id: str, changes: dict[str, Any]
    ) -> Dataset | None:
        stored = {
            k: v if k in ("name", "description") else jsonsafe.escape(v) for k, v in changes.items()
        }
        try:
            doc = await self.collection.find_one_and_update(
                {"_id": dataset_id, "project_id": project_id},
                {"$set": stored},
                return_document=ReturnDocument.AFTER,
            )
        except DuplicateKeyError:
            raise Conflict(f"a dataset named {changes.get('name')!r} already exists") from None
        return Dataset.from_doc(doc) if doc else None

    async def delete(self, project_id: str, dataset_id: str) -> bool:
        """The dataset, its versions and every revision of its examples."""
        result = await self.collection.delete_one({"_id": dataset_id, "project_id": project_id})
        if result.deleted_count == 0:
            return False
        await self.examples.delete_many({"dataset_id": dataset_id})
        await self.versions.delete_many({"dataset_id": dataset_id})
        return True

    # ---- Versions

    async def next_version(self, project_id: str, dataset_id: str, now: datetime) -> int | None:
        """Take the dataset's next version (None: no such dataset)."""
        doc = await self.collection.find_one_and_update(
            {"_id": dataset_id, "project_id": project_id},
            {"$inc": {"version": 1}, "$set": {"modified_at": now}},
            projection={"version": 1},
            return_document=ReturnDocument.AFTER,
        )
        if doc is None:
            return None
        version = int(doc["version"])
        # Times are kept to the millisecond: each version's is after the one
        # before, so "as of" a version's time is that version.
        at = now.replace(microsecond=now.microsecond - now.microsecond % 1000)
        previous = await self.version_time(dataset_id, version - 1)
        if previous is not None and at <= previous:
            at = previous + timedelta(milliseconds=1)
        with contextlib.suppress(DuplicateKeyError):
            await self.versions.insert_one(
                {"_id": f"{dataset_id}/{version:010d}", "dataset_id": dataset_id,
                 "version": version, "at": at}
            )  # fmt: skip
        return version

    async def version_at(self, dataset_id: str, at: datetime) -> int:
        """The version that was current at this time (0: before the first change)."""
        doc = await self.versions.find_one(
            {"dataset_id": dataset_id, "at": {"$lte": at}}, sort=[("at", -1), ("version", -1)]
        )
        return int(doc["version"]) if doc else 0

    async def version_time(self, dataset_id: str, version: int) -> datetime | None:
        doc = await self.versions.find_one({"dataset_id": dataset_id, "version": version})
        return doc["at"] if doc else None

    async def version_list(self, dataset_id: str, limit: int) -> list[DatasetVersion]:
        """Newest first."""
        cursor = self.versions.find({"dataset_id": dataset_id}, sort=[("version", -1)])
        return [
            DatasetVersion(d["dataset_id"], d["version"], d["at"])
            for d in await cursor.limit(limit).to_list()
        ]

    # ---- Examples

    async def add_revisions(
        self,
        dataset: Dataset,
        version: int,
        now: datetime,
        revisions: list[Revision],
    ) -> list[Example]:
        """Write revisions of ``version``, ending each example's previous one."""
        ids = [r.example_id for r in revisions]
        if ids:
            await self.examples.update_many(
                {"dataset_id": dataset.id, "example_id": {"$in": ids}, "until": None},
                {"$set": {"until": version}},
            )
        docs = [
            _revision_doc(dataset.project_id, dataset.id, revision, position, version, now)
            for position, revision in enumerate(revisions)
        ]
        if docs:
            await self.examples.insert_many(docs, ordered=False)
        return [Example.from_doc(d) for d in docs]

    async def end_revisions(self, dataset_id: str, example_ids: list[str], version: int) -> int:
        """Delete these examples as of ``version``; how many were current."""
        result = await self.examples.update_many(
            {"dataset_id": dataset_id, "example_id": {"$in": example_ids}, "until": None},
            {"$set": {"until": version}},
        )
        return result.modified_count

    async def current(self, project_id: str, example_ids: list[str]) -> list[Example]:
        """These examples as they are now, whichever dataset holds them."""
        docs = await self.examples.find(
            {"project_id": project_id, "example_id": one_of(example_ids), "until": None}
        ).to_list()
        return [Example.from_doc(d) for d in docs]

    async def any_revision(self, project_id: str, example_id: str) -> Example | None:
        """The example's latest revision, even when it is deleted now."""
        doc = await self.examples.find_one(
            {"project_id": project_id, "example_id": example_id}, sort=[("version", -1)]
        )
        return Example.from_doc(doc) if doc else None

    async def as_of_example(self, project_id: str, example_id: str, version: int) -> Example | None:
        doc = await self.examples.find_one(
            {
                "project_id": project_id,
                "example_id": example_id,
                "version": {"$lte": version},
                "$or": [{"until": None}, {"until": {"$gt": version}}],
            }
        )
        return Example.from_doc(doc) if doc else None

    async def list_examples(
        self, dataset_id: str, query: ExampleQuery, offset: int, limit: int
    ) -> list[Example]:
        """Oldest first (by creation, then id), from ``offset``."""
        cursor = self.examples.find(
            query.to_mongo(dataset_id), sort=[("created_at", 1), ("_id", 1)]
        )
        docs = await cursor.skip(offset).limit(limit).to_list()
        return [Example.from_doc(d) for d in docs]

    async def page_examples(
        self, dataset_id: str, query: ExampleQuery, first: int | None, after: str | None
    ) -> Page[Example]:
        """Oldest first, by keyset on (created_at, revision id)."""
        return await fetch_page(
            self.examples,
            query.to_mongo(dataset_id),
            first=first,
            after=after,
            time_field="created_at",
            build=Example.from_doc,
            oldest_first=True,
        )

    async def count_examples(self, dataset_id: str, query: ExampleQuery | None = None) -> int:
        return await self.examples.count_documents((query or ExampleQuery()).to_mongo(dataset_id))

    async def source_runs(self, dataset_id: str, run_ids: list[str]) -> set[str]:
        """Which of these runs an example of the dataset (any revision) came from."""
        if not run_ids:
            return set()
        docs = await self.examples.find(
            {"dataset_id": dataset_id, "source_run_id": {"$in": run_ids}}, {"source_run_id": 1}
        ).to_list()
        return {d["source_run_id"] for d in docs}
