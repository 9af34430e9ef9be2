"""A large export streams: the server's memory stays flat however many records.

The export runs on a real uvicorn server (an in-process ASGI transport would buffer
the whole body), and tracemalloc watches this process (server thread and client)
while thousands of records stream through."""

from __future__ import annotations

import tracemalloc
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from starlette.applications import Starlette

from app.domain.runs import RunWrite, ingest_runs
from app.settings import Settings
from tests.conftest import Keys, services
from tests.live import live_server

RECORDS = 6000
OUTPUT_CHARS = 2000


async def fill(app: Starlette, project_id: str) -> None:
    stores = services(app).stores
    start = datetime(2025, 1, 1, tzinfo=UTC)
    run_ids = [str(uuid.uuid4()) for _ in range(RECORDS)]
    for offset in range(0, RECORDS, 500):
        batch = [
            RunWrite(
                id=run_id,
                name="bulk",
                inputs={"question": f"question {offset + i}"},
                outputs={"answer": f"{offset + i:06d} " + "x" * OUTPUT_CHARS},
                start_time=start + timedelta(seconds=offset + i),
            )
            for i, run_id in enumerate(run_ids[offset : offset + 500])
        ]
        await ingest_runs(stores, project_id, batch)
    now = datetime.now(UTC)
    docs: list[dict[str, Any]] = [
        {
            "_id": str(uuid.uuid4()),
            "project_id": project_id,
            "run_id": run_id,
            "key": "helpful",
            "score": i % 2 == 0,
            "value": None,
            "comment": None,
            "correction": None,
            "source_type": "api",
            "source_info": None,
            "source_run_id": None,
            "user_id": None,
            "actor": None,
            "retracted": False,
            "deleted": False,
            "created_at": now + timedelta(milliseconds=i),
            "modified_at": now + timedelta(milliseconds=i),
            "extra": {},
        }
        for i, run_id in enumerate(run_ids)
    ]
    await stores.feedback.collection.insert_many(docs)


async def test_memory_stays_flat_while_exporting_thousands(
    app: Starlette, keys: Keys, settings: Settings
) -> None:
    await fill(app, keys.project_id)
    with live_server(settings) as url:
        async with httpx.AsyncClient(base_url=url, timeout=120) as client:
            tracemalloc.start()
            try:
                tracemalloc.reset_peak()
                before, _ = tracemalloc.get_traced_memory()
                lines = total = 0
                last = b""
                async with client.stream(
                    "GET", "/export/feedback", headers={"Authorization": f"Bearer {keys.read}"}
                ) as response:
                    assert response.status_code == 200
                    async for chunk in response.aiter_bytes():
                        lines += chunk.count(b"\n")
                        total += len(chunk)
                        last = chunk
                _, peak = tracemalloc.get_traced_memory()
            finally:
                tracemalloc.stop()
    assert lines == RECORDS
    assert last.endswith(b"\n")
    growth = peak - before
    print(f"\nexported {total / 1e6:.1f} MB in {lines} lines; peak growth {growth / 1e6:.2f} MB")
    assert total > RECORDS * OUTPUT_CHARS
    # Holding the export would take at least its size; streaming holds a few batches.
    assert growth < total / 4
