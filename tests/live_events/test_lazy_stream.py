"""The feedback change stream is followed only while someone is subscribed."""

from __future__ import annotations

from starlette.applications import Starlette

from app.domain.live.hub import CHANGE_STREAM
from tests.conftest import GraphQLClient, Keys, services
from tests.helpers import give_feedback, make_run


async def test_stream_followed_only_with_subscribers(
    app: Starlette, gql: GraphQLClient, keys: Keys
) -> None:
    hub = services(app).pipelines.live
    assert hub.mode == CHANGE_STREAM
    assert hub._task is None  # nobody listens: the database does no work for it
    first = await hub.subscribe(keys.project_id, None, None)
    second = await hub.subscribe(keys.project_id, ["thumbs"], None)
    task = hub._task
    assert task is not None and not task.done()
    run_id = await make_run(gql)
    await give_feedback(gql, runId=run_id, key="thumbs", score=1)
    event = await hub.broker.events(second).__anext__()
    assert event.kind == "created" and event.feedback.run_id == run_id
    await hub.unsubscribe(first)
    assert hub._task is task  # one subscriber left
    await hub.unsubscribe(second)
    assert hub._task is None and task.done()
