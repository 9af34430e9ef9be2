"""Where live events come from.

With a MongoDB that has change streams (a replica set; the embedded SecantusDB
advertises a single-node replica set), every app process with a subscriber watches
the ``feedback`` collection, so a subscriber sees every change, whichever process
made it. Without
them, events are broadcast in-process from the write path: a subscriber then sees
only the changes made by the process it is connected to (run one process, or use a
replica set). ``/readyz`` reports which: ``"live": "change_stream" | "in_process"``.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from app.domain import feedback_events
from app.domain.background import BackgroundLoop
from app.domain.feedback_events import FeedbackChanged
from app.domain.live.broker import LiveBroker, LiveEvent, Subscriber
from app.store import Stores
from app.store.feedback_changes import ChangeStreamsUnavailable, FeedbackChange, FeedbackWatch

log = logging.getLogger("plaudit.live")

CHANGE_STREAM = "change_stream"
IN_PROCESS = "in_process"
# How long to wait before reopening a change stream that broke.
REOPEN_SECONDS = 1.0


def live_event(change: FeedbackChange) -> LiveEvent:
    return LiveEvent(kind=change.kind, feedback=change.record, at=change.record.modified_at)


class LiveHub:
    def __init__(self, stores: Stores, *, use_change_streams: bool = True) -> None:
        self.stores = stores
        self.broker = LiveBroker()
        self.use_change_streams = use_change_streams
        self.mode = IN_PROCESS
        # Follows the change stream while someone is subscribed.
        self.following = BackgroundLoop(
            "live-change-stream",
            self._follow,
            REOPEN_SECONDS,
            log=log,
            failure="the feedback change stream broke (reopening)",
            grace=0,  # following the stream never ends by itself
        )
        self._watch: FeedbackWatch | None = None
        self._resume_token: Any = None
        self._attached = False

    async def start(self) -> None:
        """Find out whether the server has change streams. The stream itself is
        followed only while someone is subscribed: with nobody listening, watching
        would cost the database work on every feedback write for nothing."""
        watch = None
        if self.use_change_streams:
            try:
                watch = await self.stores.feedback_changes.watch()
            except ChangeStreamsUnavailable as exc:
                log.warning(
                    "change streams unavailable (%s): live updates are in-process only", exc
                )
        if watch is not None:
            await watch.close()
            self.mode = CHANGE_STREAM
        else:
            self.mode = IN_PROCESS
            feedback_events.attach(self.stores, self)
            self._attached = True

    async def subscribe(
        self, project_id: str, keys: list[str] | None, run_ids: list[str] | None
    ) -> Subscriber:
        """Subscribe; every change stored after this returns reaches the subscriber."""
        subscriber = self.broker.subscribe(project_id, keys, run_ids)
        if self.mode == CHANGE_STREAM and not self.following.running:
            try:
                watch = await self.stores.feedback_changes.watch()
            except BaseException:
                self.broker.unsubscribe(subscriber)
                raise
            if not self.following.running:
                self._watch, self._resume_token = watch, None
                self.following.start()
            else:  # another subscriber opened one meanwhile
                await watch.close()
        return subscriber

    async def unsubscribe(self, subscriber: Subscriber) -> None:
        self.broker.unsubscribe(subscriber)
        if self.broker.subscriber_count == 0:
            await self._stop_following()

    @property
    def _task(self) -> asyncio.Task[None] | None:
        """The task following the change stream, while someone is subscribed."""
        return self.following.task

    async def _stop_following(self) -> None:
        await self.following.stop()
        watch, self._watch = self._watch, None
        if watch is not None:  # stopped before the loop took it
            await watch.close()

    async def stop(self) -> None:
        if self._attached:
            feedback_events.detach(self.stores, self)
            self._attached = False
        await self._stop_following()

    async def feedback_changed(self, event: FeedbackChanged) -> None:
        """The in-process source: called on the write path."""
        self.broker.publish(LiveEvent(kind=event.kind, feedback=event.record, at=event.at))

    async def _follow(self) -> None:
        """Publish the changes of the watch ``subscribe`` opened, or of a new one
        after the last change seen, until it breaks (the loop reopens it)."""
        watch, self._watch = self._watch, None
        if watch is None:
            watch = await self.stores.feedback_changes.watch(self._resume_token)
        try:
            async for change in watch.changes():
                self.broker.publish(live_event(change))
        finally:
            self._resume_token = watch.resume_token or self._resume_token
