"""A rule's numbers: counts, mean score and agreement with people over time, and an
alert (a webhook event) when agreement crosses the admin's threshold, once, and
again when it comes back."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from starlette.applications import Starlette

from app import clock
from app.domain.evaluation.alerts import check_alerts
from app.domain.webhooks.signing import verify
from app.settings import Settings
from tests.autofeedback.waiting import eventually
from tests.conftest import GraphQLClient, services
from tests.evaluation.api import check_rule, create_rule, get_rule, ingest, run, settled
from tests.evaluation.receiver import Receiver

QUALITY = """
query($id: ID!) {
  evaluationRule(id: $id) {
    quality { evaluated meanScore compared peopleMean agreement meanAbsoluteDifference }
    series(bucket: DAY) { time quality { evaluated meanScore compared agreement peopleMean } }
  }
}"""
FEEDBACK = """
mutation($r: ID!, $s: Score) {
  createFeedback(input: {runId: $r, key: "mentions_refund", score: $s, userId: "ann",
                         sourceType: HUMAN}) { id }
}"""


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return replace(settings, webhook_allow_private_networks=True, webhook_poll_seconds=0.05)


async def test_numbers_agreement_and_an_alert(
    app: Starlette, gql: GraphQLClient, receiver: Receiver, sync_db: Any
) -> None:
    receiver.responder = lambda body: (200, {})
    hook = await gql.ok(
        "mutation($url: String!) { createWebhook(url: $url, events: [EVALUATION_ALERT]) "
        "{ secret webhook { events } } }",
        {"url": receiver.url},
    )
    secret = hook["createWebhook"]["secret"]
    assert hook["createWebhook"]["webhook"]["events"] == ["EVALUATION_ALERT"]
    alerts = [
        {"metric": "AGREEMENT", "direction": "BELOW", "threshold": 0.8, "minCount": 4},
        {"metric": "MEAN_SCORE", "direction": "ABOVE", "threshold": 0.9, "minCount": 4},
    ]
    rule = (
        await create_rule(
            gql,
            check_rule(
                "mentions refunds",
                "mentions_refund",
                {"type": "CONTAINS_ANY", "words": ["refund"]},
                alerts=alerts,
            ),
        )
    )["rule"]
    at = (clock.now() - timedelta(hours=1)).isoformat()  # one start time: one bucket
    answers = ["a refund", "refund done", "no refund", "the refund", "sorry", "later"]
    ids = await ingest(gql, [run(outputs=a, startTime=at) for a in answers])
    await settled(gql, rule["id"], 6)
    # People: agree on three runs, disagree on two (the rule says true, they say false).
    for run_id, score in zip(ids[:5], [True, True, False, False, False], strict=True):
        await gql.ok(FEEDBACK, {"r": run_id, "s": score})

    data = (await gql.ok(QUALITY, {"id": rule["id"]}))["evaluationRule"]
    assert data["quality"] == {
        "evaluated": 6,
        "meanScore": pytest.approx(4 / 6),
        "compared": 5,
        "peopleMean": pytest.approx(2 / 5),
        "agreement": pytest.approx(3 / 5),
        "meanAbsoluteDifference": pytest.approx(2 / 5),
    }
    (point,) = data["series"]
    assert point["quality"]["agreement"] == pytest.approx(0.6)
    assert point["time"].startswith(at[:10])

    stores, webhooks = services(app).stores, services(app).pipelines.webhooks
    await check_alerts(stores, webhooks)
    await eventually(lambda: len(receiver.received) == 1, "the alert's delivery")
    (delivery,) = receiver.received
    assert verify(secret, delivery.headers["plaudit-signature"], delivery.body)
    event = delivery.json
    assert event["type"] == "evaluation.alert" and delivery.headers["plaudit-event"] == (
        "evaluation.alert"
    )
    assert event["data"]["state"] == "firing"
    assert event["data"]["value"] == pytest.approx(0.6) and event["data"]["count"] == 5
    assert event["data"]["rule"]["id"] == rule["id"]
    assert event["data"]["alert"]["metric"] == "agreement"
    shown = (await get_rule(gql, rule["id"]))["alerts"]
    assert [a["firing"] for a in shown] == [True, False]

    # Checked again with nothing changed: no second event.
    await check_alerts(stores, webhooks)
    assert sync_db["webhook_deliveries"].count_documents({}) == 1

    # People come round: agreement is back above the threshold.
    for run_id in ids[2:4]:
        await gql.ok(FEEDBACK, {"r": run_id, "s": True})
    await check_alerts(stores, webhooks)
    await eventually(lambda: len(receiver.received) == 2, "the resolution's delivery")
    resolved = receiver.received[1].json["data"]
    assert (resolved["state"], resolved["value"]) == ("resolved", pytest.approx(1.0))
    assert [a["firing"] for a in (await get_rule(gql, rule["id"]))["alerts"]] == [False, False]
