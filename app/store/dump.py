"""A project's documents, every collection (app/store/lifecycle.py says which),
as lines of MongoDB Extended JSON (canonical: dates, integers and floats come back
exactly as they were), and back: the file `plaudit dump` writes and `plaudit load`
reads.

The first line is a header (format version, the project's id and name); then one
line per document, ``{"c": collection, "d": document}``, collection by collection
in ``RULES`` order and by ``_id`` within each, so a dump cut short can go on after
its last whole line. Loading replaces each document by ``_id`` (inserting it when
new): loading a file twice changes nothing. Lines of collections an earlier version
dumped and this one retired (derived data, app/store/indexes.py ``RETIRED``) are
passed over: the load rebuilds what replaced them.
"""

from __future__ import annotations

import datetime
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from bson import json_util
from bson.json_util import JSONMode, JSONOptions
from pymongo import ReplaceOne
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError

from app.errors import BadRequest, Conflict
from app.store.indexes import RETIRED
from app.store.lifecycle import RULES, Rule

FORMAT = "plaudit-dump"
VERSION = 1
OPTIONS = JSONOptions(json_mode=JSONMode.CANONICAL, tz_aware=True, tzinfo=datetime.UTC)
DUMPED = [rule for rule in RULES if rule.dumped]
BY_NAME = {rule.collection: rule for rule in DUMPED}
DUPLICATE_KEY = 11000


@dataclass(frozen=True)
class Header:
    project_id: str
    project_name: str


@dataclass(frozen=True)
class Position:
    """Where a dump stopped: the last document written."""

    collection: str
    id: Any


def encode_header(header: Header) -> str:
    return json_util.dumps(
        {
            "format": FORMAT,
            "version": VERSION,
            "project": header.project_id,
            "name": header.project_name,
        },
        json_options=OPTIONS,
    )


def decode_header(line: str) -> Header:
    try:
        doc = json_util.loads(line, json_options=OPTIONS)
        if doc.get("format") != FORMAT:
            raise ValueError
    except (ValueError, TypeError, AttributeError):
        raise BadRequest("not a Plaudit dump: its first line is not a dump header") from None
    if doc.get("version") != VERSION:
        raise BadRequest(f"dump format version {doc.get('version')} is not {VERSION}")
    return Header(project_id=str(doc["project"]), project_name=str(doc["name"]))


def encode(collection: str, doc: dict[str, Any]) -> str:
    return json_util.dumps({"c": collection, "d": doc}, json_options=OPTIONS)


def decode(line: str, number: int) -> tuple[str, dict[str, Any]]:
    """A document line (``number``: its line in the file, for errors)."""
    try:
        item = json_util.loads(line, json_options=OPTIONS)
        collection, doc = item["c"], item["d"]
    except (ValueError, TypeError, KeyError):
        raise BadRequest(f"line {number} of the dump is not a document line") from None
    if collection not in BY_NAME and collection not in RETIRED:
        raise BadRequest(f"line {number}: unknown collection {collection!r}")
    if not isinstance(doc, dict) or "_id" not in doc:
        raise BadRequest(f"line {number}: a document without an _id")
    return collection, doc


class DumpStore:
    def __init__(self, db: AsyncDatabase[dict[str, Any]]) -> None:
        self.db = db

    async def _scope(self, rule: Rule, project_id: str) -> dict[str, Any]:
        if rule.collection == "projects":
            return {"_id": project_id}
        if rule.parent is not None:
            field, parent = rule.parent
            ids = await self.db[parent].distinct("_id", {"project_id": project_id})
            return {field: {"$in": ids}}
        return {"project_id": project_id}

    async def count(self, project_id: str) -> int:
        total = 0
        for rule in DUMPED:
            total += await self.db[rule.collection].count_documents(
                await self._scope(rule, project_id)
            )
        return total

    async def documents(
        self, project_id: str, after: Position | None = None
    ) -> AsyncIterator[tuple[str, dict[str, Any]]]:
        """(collection, document) of the project, from just after ``after``."""
        names = [rule.collection for rule in DUMPED]
        start = names.index(after.collection) if after is not None else 0
        for rule in DUMPED[start:]:
            query = await self._scope(rule, project_id)
            if after is not None and rule.collection == after.collection:
                query = {"$and": [query, {"_id": {"$gt": after.id}}]}
            cursor = self.db[rule.collection].find(query, sort=[("_id", 1)], batch_size=1000)
            async for doc in cursor:
                yield rule.collection, doc

    async def load(self, items: list[tuple[str, dict[str, Any]]]) -> None:
        """Replace (or insert) each document by its ``_id``."""
        by_collection: dict[str, list[ReplaceOne[dict[str, Any]]]] = {}
        for collection, doc in items:
            if collection in RETIRED:
                continue
            by_collection.setdefault(collection, []).append(
                ReplaceOne({"_id": doc["_id"]}, doc, upsert=True)
            )
        for collection, ops in by_collection.items():
            try:
                await self.db[collection].bulk_write(ops, ordered=False)
            except BulkWriteError as exc:
                errors = exc.details.get("writeErrors") or []
                if any(e.get("code") == DUPLICATE_KEY for e in errors):
                    raise Conflict(
                        f"loading {collection}: a different record here has the same "
                        f"unique name or key ({errors[0].get('errmsg', '')[:200]})"
                    ) from None
                raise
