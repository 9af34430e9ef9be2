"""Alerts: a webhook event when a rule's mean score, or its agreement with people,
crosses a threshold the admin set, and again when it comes back.

Every process checks the active rules' alerts every ``PLAUDIT_EVALUATION_ALERT_SECONDS``
(60). An alert is measured over the runs of its last ``window_hours`` (by start
time), and only when at least ``min_count`` of them were scored (for agreement:
scored by the rule and by people). Its state (firing or not) lives in the rule's
document and moves by a conditional update, so when several processes see the same
crossing exactly one of them sends the event. Editing the rule starts every alert
over, not firing.

The event, to webhooks subscribed to ``EVALUATION_ALERT``::

    {"id": "...", "type": "evaluation.alert", "created_at": "...", "project_id": "...",
     "data": {"state": "firing" | "resolved", "value": 0.42, "count": 120,
              "rule": {"id", "name", "version", "key"},
              "alert": {"metric", "direction", "threshold", "window_hours", "min_count"},
              "window": {"since", "until"}}}
"""

from __future__ import annotations

import logging
from dataclasses import asdict
from datetime import timedelta

from app import clock
from app.domain.evaluation.definition import RuleDefinition
from app.domain.evaluation.stats import QualityReport, rule_quality
from app.domain.webhooks.events import WebhookEnqueuer
from app.store import Stores
from app.store.evaluation_rules import EvaluationRule

log = logging.getLogger("plaudit.evaluation")

EVENT_KIND = "evaluation_alert"
EVENT_TYPE = "evaluation.alert"


async def check_rule_alerts(
    stores: Stores, webhooks: WebhookEnqueuer, rule: EvaluationRule
) -> list[str]:
    """Check one rule's alerts; the states it moved to (``firing``/``resolved``)."""
    definition = RuleDefinition.from_doc(rule.definition)
    moved: list[str] = []
    now = clock.now()
    reports: dict[int, QualityReport] = {}
    for index, alert in enumerate(definition.alerts):
        since = now - timedelta(hours=alert.window_hours)
        if alert.window_hours not in reports:
            reports[alert.window_hours] = await rule_quality(stores, rule, since, None)
        quality = reports[alert.window_hours].overall
        if alert.metric == "mean_score":
            value, count = quality.mean_score, quality.evaluated
        else:
            value, count = quality.agreement, quality.compared
        if value is None or count < alert.min_count:
            continue
        firing = alert.crossed(value)
        was = bool(rule.alert_state.get(str(index), {}).get("firing", False))
        if firing == was:
            continue
        state = {"firing": firing, "value": value, "count": count, "at": now}
        if not await stores.evaluation_rules.set_alert_state(
            rule.id, rule.version, index, was, state
        ):
            continue  # another process saw it first, or the rule changed
        name = "firing" if firing else "resolved"
        moved.append(name)
        log.info(
            "evaluation rule %s: alert %d %s (%s = %.4f)", rule.id, index, name, alert.metric, value
        )
        await webhooks.enqueue_event(
            rule.project_id,
            EVENT_KIND,
            EVENT_TYPE,
            now,
            {
                "state": name,
                "value": value,
                "count": count,
                "rule": {
                    "id": rule.id,
                    "name": rule.name,
                    "version": rule.version,
                    "key": definition.key,
                },
                "alert": asdict(alert),
                "window": {"since": since.isoformat(), "until": now.isoformat()},
            },
        )
    return moved


async def check_alerts(stores: Stores, webhooks: WebhookEnqueuer) -> None:
    for rule in await stores.evaluation_rules.active():
        if rule.definition.get("alerts"):
            await check_rule_alerts(stores, webhooks, rule)
