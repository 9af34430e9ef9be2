"""Group commit (app/store/group_commit.py) against the real store: concurrent
inserts go in one bulk, and each caller still gets its own outcome."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pymongo import AsyncMongoClient, monitoring
from pymongo.errors import DocumentTooLarge

from app import clock
from app.domain.feedback import Change, FeedbackWrite, create_feedback
from app.domain.runs import RunWrite, ingest_runs
from app.store import Stores
from app.store.client import make_client
from app.store.embedded.server import EmbeddedMongo
from app.store.errors import UNREACHABLE, DuplicateKeyError
from app.store.feedback import ChangeMeta
from app.store.group_commit import MAX_DOCUMENT_BYTES, GroupInserts, GroupReads
from app.store.indexes import ensure_indexes
from tests.commands import CommandRecorder

Client = AsyncMongoClient[dict[str, Any]]
CALLERS = 24


@pytest.fixture
async def client(mongo_uri: str, recorder: CommandRecorder) -> AsyncIterator[Client]:
    client = make_client(mongo_uri, event_listeners=[recorder])
    yield client
    await client.close()


@pytest.fixture
async def stores(client: Client, db_name: str) -> AsyncIterator[Stores]:
    stores = Stores.open(client[db_name])
    await ensure_indexes(stores.db)
    yield stores
    await client.drop_database(db_name)


def record(
    project_id: str, run_id: str, actor: str, record_id: str | None = None
) -> dict[str, Any]:
    now = clock.now()
    return {
        "_id": record_id or str(uuid.uuid4()),
        "project_id": project_id,
        "run_id": run_id,
        "key": "thumbs",
        "actor": actor,
        "user_id": actor,
        "score": 1,
        "value": None,
        "comment": None,
        "correction": None,
        "source_type": "api",
        "source_info": None,
        "source_run_id": None,
        "retracted": False,
        "deleted": False,
        "extra": {},
        "created_at": now,
        "modified_at": now,
    }


META = ChangeMeta(change="created", by="cli", via="cli", at=datetime(2026, 1, 1, tzinfo=UTC))


def inserted_documents(recorder: CommandRecorder, collection: str) -> list[int]:
    """How many documents each insert command sent to ``collection`` carried."""
    return [len(c["documents"]) for c in recorder.on(collection, "insert")]


async def test_concurrent_inserts_go_in_one_bulk_each_acknowledged(
    stores: Stores, recorder: CommandRecorder
) -> None:
    recorder.clear()
    docs = [record("p", "r", f"user-{n}") for n in range(CALLERS)]
    created = await asyncio.gather(*(stores.feedback.insert(d, META) for d in docs))
    assert [c.id for c in created] == [d["_id"] for d in docs]
    sizes = inserted_documents(recorder, "feedback")
    # Fewer commands than records, every record in one of them exactly once.
    assert sum(sizes) == CALLERS
    assert len(sizes) < CALLERS
    assert max(sizes) > 1
    stored = await stores.feedback.collection.find({"project_id": "p"}).to_list()
    assert sorted(s["_id"] for s in stored) == sorted(d["_id"] for d in docs)
    # Each with its first history entry inside it, as before.
    assert all(len(s["history"]) == 1 and s["rev"] == 0 for s in stored)


async def test_a_lone_insert_goes_at_once(stores: Stores, recorder: CommandRecorder) -> None:
    """No bulk in flight: the insert is sent alone, waiting for no window."""
    recorder.clear()
    await stores.feedback.insert(record("p", "r", "alone"), META)
    assert inserted_documents(recorder, "feedback") == [1]


async def test_one_duplicate_among_many_fails_only_its_own_caller(
    stores: Stores, recorder: CommandRecorder
) -> None:
    taken = record("p", "r", "voted-before")
    await stores.feedback.insert(taken, META)
    used_id = record("p", "r", "someone-new", record_id=taken["_id"])
    same_person = record("p", "r", "voted-before")
    others = [record("p", "r", f"user-{n}") for n in range(CALLERS)]
    recorder.clear()
    batch = [*others[: CALLERS // 2], same_person, used_id, *others[CALLERS // 2 :]]
    outcomes = await asyncio.gather(
        *(stores.feedback.insert(d, META) for d in batch), return_exceptions=True
    )
    assert max(inserted_documents(recorder, "feedback")) > 2  # they did share a bulk
    by_id = dict(zip((id(d) for d in batch), outcomes, strict=True))
    natural, clash = by_id[id(same_person)], by_id[id(used_id)]
    # The same error insert_one raised, with the index it broke (the domain tells
    # an id clash from a natural-key one by its keyPattern).
    assert isinstance(natural, DuplicateKeyError)
    assert set(natural.details["keyPattern"]) >= {"run_id", "key", "actor"}
    assert "_id" not in natural.details["keyPattern"]
    assert isinstance(clash, DuplicateKeyError)
    assert "_id" in clash.details["keyPattern"]
    assert all(not isinstance(by_id[id(d)], BaseException) for d in others)
    stored = await stores.feedback.collection.find({"project_id": "p"}).to_list()
    assert len(stored) == 1 + len(others)


async def test_a_document_too_large_fails_only_its_caller(
    stores: Stores, recorder: CommandRecorder
) -> None:
    huge = record("p", "r", "huge")
    huge["comment"] = "x" * MAX_DOCUMENT_BYTES
    fine = [record("p", "r", f"user-{n}") for n in range(4)]
    recorder.clear()
    outcomes = await asyncio.gather(
        *(stores.feedback.insert(d, META) for d in [fine[0], huge, *fine[1:]]),
        return_exceptions=True,
    )
    assert isinstance(outcomes[1], DocumentTooLarge)  # as insert_one raises it
    assert [o for n, o in enumerate(outcomes) if n != 1] == [
        await stores.feedback.get("p", d["_id"]) for d in fine
    ]
    assert sum(inserted_documents(recorder, "feedback")) == len(fine)


async def test_concurrent_votes_through_the_domain_keep_their_outcomes(stores: Stores) -> None:
    """Through create_feedback: first votes inserted together, and a person who
    voted before (natural key taken inside the bulk) gets their record changed."""
    project = await stores.projects.create("group")
    run_id = str(uuid.uuid4())
    await ingest_runs(stores, project.id, [RunWrite(id=run_id, name="r")])
    first, _ = await create_feedback(
        stores,
        project.id,
        FeedbackWrite(run_id=run_id, key="thumbs", score=1, user_id="again"),
        Change(by="cli", via="cli"),
    )
    writes = [
        FeedbackWrite(run_id=run_id, key="thumbs", score=1, user_id=f"u{n}") for n in range(CALLERS)
    ]
    writes.append(FeedbackWrite(run_id=run_id, key="thumbs", score=0, user_id="again"))
    results = await asyncio.gather(
        *(create_feedback(stores, project.id, w, Change(by="cli", via="cli")) for w in writes)
    )
    assert all(changed for _, changed in results)
    again, _ = results[-1]
    assert again.id == first.id and again.score == 0
    history = await stores.feedback.history(project.id, first.id)
    assert [h.change for h in history] == ["created", "updated"]
    assert sorted(r.user_id or "" for r, _ in results[:-1]) == sorted(
        f"u{n}" for n in range(CALLERS)
    )


class KillOnBulk(CommandRecorder):
    """Kills the store as an insert of more than one document starts, once armed."""

    def __init__(self, store: EmbeddedMongo) -> None:
        super().__init__()
        self.store = store
        self.armed = False

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        super().started(event)
        if self.armed and event.command_name == "insert" and len(event.command["documents"]) > 1:
            self.armed = False
            self.store.kill()


async def test_a_bulk_killed_mid_flight_fails_its_callers_and_the_next_goes(
    tmp_path: Path,
) -> None:
    """The store dies as a bulk is sent: each of its callers gets the driver's
    connection error (a 503 at the edges, as before); once the store is back the
    next bulk is acknowledged. No caller is told its write succeeded unless it was."""
    own_store = EmbeddedMongo(tmp_path / "store")
    own_store.start()
    killer = KillOnBulk(own_store)
    client = make_client(
        own_store.uri,
        event_listeners=[killer],
        serverSelectionTimeoutMS=1500,
        connectTimeoutMS=1000,
        socketTimeoutMS=3000,
    )
    try:
        collection = client["group"]["probe"]
        inserts = GroupInserts(collection)

        async def bulk(tag: str) -> tuple[list[str], list[BaseException | None]]:
            ids = [f"{tag}-{n}" for n in range(8)]
            outcomes = await asyncio.gather(
                *(inserts.insert_one({"_id": i}) for i in ids), return_exceptions=True
            )
            return ids, outcomes

        before, ok_before = await bulk("before")
        killer.armed = True
        lost, failed = await bulk("lost")
        assert not killer.armed  # the kill did happen, on a bulk
        own_store.start()
        after, ok_after = await bulk("after")
        assert ok_before == [None] * 8 and ok_after == [None] * 8
        assert all(isinstance(f, UNREACHABLE) for f in failed), failed
        stored = {d["_id"] for d in await collection.find({}).to_list()}
        assert set(before) | set(after) <= stored <= set(before) | set(lost) | set(after)
    finally:
        await client.close()
        own_store.stop()


async def test_concurrent_changes_of_one_record_lose_none(stores: Stores) -> None:
    """One person changing one record from many requests at once:
    every change lands exactly once, in the history, revision by revision."""
    await stores.feedback.insert(record("p", "r", "flipper"), META)
    natural = {"project_id": "p", "run_id": "r", "key": "thumbs", "actor": "flipper"}
    meta = ChangeMeta(change="updated", by="cli", via="cli", at=META.at)
    changes = 8
    results = await asyncio.gather(
        *(
            stores.feedback.apply({**natural, "deleted": False}, {"comment": f"c{n}"}, meta)
            for n in range(changes)
        )
    )
    assert all(r is not None for r in results)
    history = await stores.feedback.collection.find_one(natural)
    assert history is not None and history["rev"] == changes
    comments = [h["new"]["comment"] for h in history["history"][1:]]
    assert sorted(comments) == sorted(f"c{n}" for n in range(changes))
    # Each entry's old value is the one the entry before it set: nothing lost.
    olds = [h["old"]["comment"] for h in history["history"][1:]]
    assert olds == [None, *comments[:-1]]


async def test_drain_writes_what_callers_gave_up_on(client: Client, db_name: str) -> None:
    """Callers cancelled while their inserts wait or are in flight (a client that
    disconnected): their writes still go, and drain() (what shutdown awaits before
    closing the client) returns only once every one is answered."""
    collection = client[db_name]["drain_probe"]
    inserts = GroupInserts(collection)
    ids = [f"d-{n}" for n in range(8)]
    callers = [asyncio.create_task(inserts.insert_one({"_id": i})) for i in ids]
    # One turn of the loop: each caller encodes and hands over its write in its
    # first step (no await before that).
    await asyncio.sleep(0)
    assert inserts.operations_sent + len(inserts._waiting) == len(ids)
    for caller in callers:
        caller.cancel()
    await asyncio.gather(*callers, return_exceptions=True)
    await inserts.drain()
    assert not inserts._bulks and not inserts._waiting
    stored = {d["_id"] for d in await collection.find({}).to_list()}
    assert stored == set(ids)


async def test_concurrent_reads_by_id_go_together_each_answered(
    client: Client, db_name: str, recorder: CommandRecorder
) -> None:
    """GroupReads: concurrent reads by _id (present, absent, one id asked twice)
    go in fewer finds than callers; each caller gets its own document or None,
    and a read asked after a write was acknowledged sees it."""
    collection = client[db_name]["read_probe"]
    await collection.insert_many([{"_id": f"t-{n}", "n": n} for n in range(CALLERS)])
    reads = GroupReads(collection)
    wanted = [f"t-{n}" for n in range(CALLERS)] + ["t-3", "absent"]
    recorder.clear()
    found = await asyncio.gather(*(reads.find_one(i) for i in wanted))
    assert [f["n"] if f else None for f in found] == [*range(CALLERS), 3, None]
    # The two answers for t-3 are separate dicts: one caller's change is its own.
    assert found[3] is not found[CALLERS]
    finds = recorder.on("read_probe", "find")
    assert 1 <= len(finds) < len(wanted)
    assert reads.operations_sent == len(wanted)
    await collection.update_one({"_id": "t-0"}, {"$set": {"n": 100}})
    again = await asyncio.gather(*(reads.find_one(i) for i in ("t-0", "t-1")))
    assert [a["n"] if a else None for a in again] == [100, 1]
