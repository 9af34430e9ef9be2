"""`plaudit dump` and `plaudit load`: a project to a file and into another database,
every collection with ids, times and history; resumable; loading twice changes
nothing; rollups rebuilt."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from bson import ObjectId
from click.testing import CliRunner
from starlette.applications import Starlette

from app.cli import main
from app.domain.analytics.rebuild import rebuild_rollups
from app.domain.lifecycle import transfer
from app.settings import Settings
from app.store import Stores, dump
from app.store.client import make_client, open_stores
from app.store.lifecycle import RULES
from tests.conftest import GraphQLClient
from tests.helpers import give_feedback
from tests.pipelines_support import services
from tests.task_helpers import create_task, ingest, submit
from tests.test_cli_tokens import cli_env, run_cli

# A rebuild's own marks, not its numbers.
ROLLUP_BOOKKEEPING = {"_id", "rb", "v"}


async def _seed(app: Starlette, gql: GraphQLClient) -> None:
    await gql.ok(
        'mutation { createWebhook(url: "https://hooks.example.com/x") { webhook { id } } }'
    )
    runs = await ingest(gql, *({"name": "chat", "tags": ["review"]} for _ in range(3)))
    for i, run in enumerate(runs):
        record = await give_feedback(gql, runId=run, key="helpful", score=i / 2, comment=f"c{i}")
        await gql.ok(
            "mutation($id: ID!) { updateFeedback(id: $id, input: {score: 1}) { id } }",
            {"id": record["id"]},
        )
    doomed = await give_feedback(gql, runId=runs[0], key="other", score=0)
    await gql.ok("mutation($id: ID!) { deleteFeedback(id: $id) }", {"id": doomed["id"]})
    task = await create_task(gql, tags=["review"])
    await submit(gql, task["id"], runs[1], {"Coherence": 2, "Faithful": False}, user="r1")
    await gql.ok("mutation($r: ID!) { recordSignal(runId: $r, kind: COPY) { id } }", {"r": runs[2]})
    await services(app).pipelines.rollups.flush()
    # Rollups as a rebuild leaves them (exact min/max, zero counters written), to
    # compare with the loaded copy's, which are rebuilt.
    project = await services(app).stores.projects.by_name("acme")
    assert project is not None
    await rebuild_rollups(services(app).stores, project.id)


def _snapshot(db: Any) -> dict[str, list[dict[str, Any]]]:
    snap = {}
    for rule in RULES:
        if not rule.dumped:
            continue
        docs = list(db[rule.collection].find(sort=[("_id", 1)]))
        if rule.collection == "feedback_rollups":
            docs = sorted(
                ({k: v for k, v in d.items() if k not in ROLLUP_BOOKKEEPING} for d in docs),
                key=lambda d: (d["key"], d["g"], d["t"]),
            )
        if rule.collection == "feedback_group_buckets":
            # Rebuilt on load: the same groups; slots list the same values (a
            # rebuild lists them by count, the write path as they came).
            docs = sorted(
                (
                    {k: v for k, v in d.items() if k not in ROLLUP_BOOKKEEPING}
                    | ({"ids": sorted(d["ids"])} if "ids" in d else {})
                    for d in docs
                ),
                key=lambda d: (d["key"], d["d"], d["g"], d["t"]),
            )
        snap[rule.collection] = docs
    return snap


@pytest.fixture
def target(settings: Settings, sync_db: Any) -> Iterator[tuple[Settings, Any]]:
    name = settings.db_name + "_target"
    yield replace(settings, db_name=name), sync_db.client[name]
    sync_db.client.drop_database(name)


async def test_dump_and_load_copy_a_project_exactly(
    app: Starlette,
    gql: GraphQLClient,
    settings: Settings,
    sync_db: Any,
    target: tuple[Settings, Any],
    tmp_path: Path,
) -> None:
    await _seed(app, gql)
    file = tmp_path / "acme.jsonl"
    out = await asyncio.to_thread(
        run_cli, settings, "dump", "--project", "acme", str(file), "--no-progress"
    )
    source = _snapshot(sync_db)
    documents = sum(len(docs) for docs in source.values())
    assert out.strip() == f"{documents} records written to {file}"
    assert json.loads(file.read_text().splitlines()[0])["name"] == "acme"

    target_settings, target_db = target
    out = await asyncio.to_thread(run_cli, target_settings, "load", str(file), "--no-progress")
    assert out.strip() == f"project 'acme' loaded from {file}; rollups rebuilt"
    copied = _snapshot(target_db)
    assert copied == source
    assert any(d.get("history") for d in copied["feedback"])  # history came along
    assert not (tmp_path / "acme.jsonl.loaded").exists()

    # Loading again changes nothing.
    await asyncio.to_thread(run_cli, target_settings, "load", str(file), "--no-progress")
    assert _snapshot(target_db) == source


async def test_a_dump_cut_short_goes_on(
    app: Starlette, gql: GraphQLClient, settings: Settings, tmp_path: Path
) -> None:
    await _seed(app, gql)
    whole = tmp_path / "whole.jsonl"
    await asyncio.to_thread(
        run_cli, settings, "dump", "--project", "acme", str(whole), "--no-progress"
    )
    lines = whole.read_text().splitlines(keepends=True)
    cut = tmp_path / "cut.jsonl"
    # Killed mid-way: some whole lines, then half a line.
    cut.write_text("".join(lines[:7]) + lines[7][: len(lines[7]) // 2])

    refused = await asyncio.to_thread(
        _run_failing, settings, "dump", "--project", "acme", str(cut), "--no-progress"
    )
    assert "exists: add --resume" in refused
    await asyncio.to_thread(
        run_cli, settings, "dump", "--project", "acme", str(cut), "--resume", "--no-progress"
    )
    assert cut.read_text() == whole.read_text()


def _run_failing(settings: Settings, *args: str) -> str:
    """The CLI, which must fail: its error output."""
    env = cli_env(settings)
    result = CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)
    assert result.exit_code == 1
    return result.stderr


async def test_a_load_cut_short_goes_on_from_its_checkpoint(
    app: Starlette,
    gql: GraphQLClient,
    settings: Settings,
    sync_db: Any,
    target: tuple[Settings, Any],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await _seed(app, gql)
    file = tmp_path / "acme.jsonl"
    await asyncio.to_thread(
        run_cli, settings, "dump", "--project", "acme", str(file), "--no-progress"
    )
    monkeypatch.setattr(transfer, "LOAD_BATCH", 5)
    target_settings, target_db = target
    marker = tmp_path / "acme.jsonl.loaded"

    class Killed(Exception):
        pass

    seen: list[int] = []

    def crash_after_first_batch(n: int) -> None:
        marker.write_text(str(n))
        seen.append(n)
        raise Killed

    async def load(checkpoint: Any, skip: int) -> None:
        assert target_settings.mongodb_uri is not None
        client = make_client(target_settings.mongodb_uri)
        try:
            stores: Stores = await open_stores(client, target_settings.db_name)
            with file.open() as lines:
                await transfer.load_dump(stores, lines, skip=skip, checkpoint=checkpoint)
        finally:
            await client.close()

    with pytest.raises(Killed):
        await load(crash_after_first_batch, 0)
    assert seen == [6]  # the header and five documents
    loaded = sum(target_db[c].count_documents({}) for c in target_db.list_collection_names())
    assert loaded == 5

    # The CLI goes on from the marker and removes it when done.
    await asyncio.to_thread(run_cli, target_settings, "load", str(file), "--no-progress")
    assert not marker.exists()
    assert _snapshot(target_db) == _snapshot(sync_db)


async def test_a_bad_dump_is_a_clear_error(
    settings: Settings, gql: GraphQLClient, target: tuple[Settings, Any], tmp_path: Path
) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"hello": 1}\n')
    target_settings, _ = target
    error = await asyncio.to_thread(_run_failing, target_settings, "load", str(bad))
    assert "not a Plaudit dump" in error
    # A different project of the same name where it is loaded.
    file = tmp_path / "acme.jsonl"
    await asyncio.to_thread(
        run_cli, settings, "dump", "--project", "acme", str(file), "--no-progress"
    )
    await asyncio.to_thread(run_cli, target_settings, "projects", "create", "acme")
    error = await asyncio.to_thread(_run_failing, target_settings, "load", str(file))
    assert "a different project named 'acme' exists here" in error


async def test_a_dump_with_a_retired_collection_loads(
    app: Starlette,
    gql: GraphQLClient,
    settings: Settings,
    sync_db: Any,
    target: tuple[Settings, Any],
    tmp_path: Path,
) -> None:
    """A dump made by the version that kept grouped rollups a document per value:
    those lines are passed over, and the load rebuilds the grouped buckets."""
    await _seed(app, gql)
    file = tmp_path / "acme.jsonl"
    await asyncio.to_thread(
        run_cli, settings, "dump", "--project", "acme", str(file), "--no-progress"
    )
    header, *lines = file.read_text().splitlines(keepends=True)
    project_id = json.loads(header)["project"]
    old = {"_id": ObjectId(), "project_id": project_id, "d": "user", "gv": "someone"}
    file.write_text(header + dump.encode("feedback_group_rollups", old) + "\n" + "".join(lines))
    target_settings, target_db = target
    out = await asyncio.to_thread(run_cli, target_settings, "load", str(file), "--no-progress")
    assert out.strip() == f"project 'acme' loaded from {file}; rollups rebuilt"
    assert "feedback_group_rollups" not in target_db.list_collection_names()
    assert _snapshot(target_db) == _snapshot(sync_db)
