"""The background task that applies the pending-feedback expiry rule
(app/domain/pending_feedback.py), in a running app."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import replace
from typing import Any

import pytest
from starlette.applications import Starlette

from app.domain import feedback_events
from app.domain.pending_feedback import PendingFeedbackExpiry
from app.settings import Settings
from tests.conftest import GraphQLClient, services
from tests.helpers import give_feedback


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # Pending feedback is due at once, and the task looks often.
    return replace(settings, pending_feedback_ttl=0, pending_feedback_sweep_seconds=0.05)


class Deletions:
    """Tells when a feedback record has been deleted (a FeedbackChanged event)."""

    def __init__(self) -> None:
        self.deleted: dict[str, asyncio.Event] = {}

    def of(self, feedback_id: str) -> asyncio.Event:
        return self.deleted.setdefault(feedback_id, asyncio.Event())

    async def feedback_changed(self, event: feedback_events.FeedbackChanged) -> None:
        if event.kind == "deleted":
            self.of(event.record.id).set()


async def test_the_app_expires_pending_feedback_in_the_background(
    app: Starlette, gql: GraphQLClient, sync_db: Any
) -> None:
    deletions = Deletions()
    stores = services(app).stores
    feedback_events.attach(stores, deletions)
    try:
        given = await give_feedback(gql, runId=str(uuid.uuid4()), key="thumbs", score=1)
        async with asyncio.timeout(30):
            await deletions.of(given["id"]).wait()
    finally:
        feedback_events.detach(stores, deletions)
    history = sync_db.feedback.find_one({"_id": given["id"]})["history"]
    assert [(e["change"], e["by"], e["via"]) for e in history] == [
        ("created", history[0]["by"], "graphql"),
        ("deleted", "system", "expiry"),
    ]


async def test_the_expiry_loop_waits_an_interval_first_and_looks_when_woken(
    app: Starlette, gql: GraphQLClient, sync_db: Any
) -> None:
    """A BackgroundLoop with wait_first: no round in the rush of start-up."""
    deletions = Deletions()
    stores = services(app).stores
    await services(app).pipelines.pending_expiry.stop()  # only this test's loop sweeps
    expiry = PendingFeedbackExpiry(stores, ttl_seconds=0, every_seconds=3600)
    feedback_events.attach(stores, deletions)
    try:
        given = await give_feedback(gql, runId=str(uuid.uuid4()), key="thumbs", score=1)
        expiry.start()
        async with asyncio.timeout(30):
            await expiry.background.waiting.wait()
        # Waiting before any round: the due record is still there, pending.
        assert sync_db.feedback.find_one({"_id": given["id"]})["pending"] is True
        expiry.wake()
        async with asyncio.timeout(30):
            await deletions.of(given["id"]).wait()
    finally:
        await expiry.stop()
        feedback_events.detach(stores, deletions)
    assert not expiry.background.running
    assert sync_db.feedback.find_one({"_id": given["id"]})["deleted"] is True
