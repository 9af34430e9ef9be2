"""Evaluation rules: create, edit (a new version), pause, resume, delete, backfill.

Saving a rule checks its definition against the project: a task scorer's task and
field (the rule then also takes the task's tag selector into its filter, since only
those runs can carry the task's labels), a judge's registered key and something to
learn from, a check's settings, an HTTP evaluator's URL (the webhooks' address
rules). A check's key that is not registered is registered as boolean. An HTTP
evaluator without a secret gets one, returned once.

Every change is seen at once by this process's write path (the queue's rule cache
is told) and within the cache time (5 s) by the others. Editing makes a new version:
runs are evaluated at most once per version, so runs completed from then on are
evaluated under the new version, and evaluations still queued under the old one
are skipped (``superseded``); a backfill re-applies the rule to earlier runs.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from app import clock
from app.domain import validation as v
from app.domain.autofeedback.jobs import SCAN_PAGE, check_method
from app.domain.autofeedback.targets import KeyTarget, load_target
from app.domain.evaluation.checks import check_spec
from app.domain.evaluation.definition import RuleDefinition, check_common
from app.domain.evaluation.queue import ActiveRule, EvaluationQueue, sampled_docs
from app.domain.feedback_keys import KeyConfig, check_key_name, register_key
from app.domain.tasks.schemas import metric_fields
from app.domain.tasks.service import get_task, metric_key
from app.domain.webhooks.registry import MIN_SECRET_CHARS, check_url, new_secret
from app.errors import BadRequest, Conflict, NotFound
from app.settings import Settings
from app.store import Stores
from app.store.errors import DuplicateKeyError
from app.store.evaluation_rules import EvaluationRule
from app.store.runs import RunQuery

MAX_RULES_PER_PROJECT = 50
MAX_NAME_CHARS = 100
MAX_BACKFILL_RUNS = 20_000
MS = timedelta(milliseconds=1)


@dataclass(frozen=True)
class SavedRule:
    rule: EvaluationRule
    # An HTTP evaluator's signing secret when this save set it (shown once), else None.
    secret: str | None = None


@dataclass(frozen=True)
class BackfillResult:
    scanned: int  # runs in the window the filter selects, looked at
    sampled: int  # of those, complete and in the rule's sample
    queued: int  # of those, newly queued (the others were queued already)
    complete: bool  # False when MAX_BACKFILL_RUNS stopped it first
    # When not complete: run the backfill again with this as `before` to go on.
    resume_before: datetime | None


def _check_name(name: str) -> str:
    v.check_text(name, "name", MAX_NAME_CHARS)
    if not name.strip() or name != name.strip():
        raise BadRequest("name must not be empty or start or end with spaces", field="name")
    return name


async def _learnable(stores: Stores, definition: RuleDefinition, project_id: str) -> RuleDefinition:
    """A predictor scorer (llm, nearest_neighbour) on a task or on a key."""
    spec = definition.scorer
    if spec.task_id is not None:
        task = await get_task(stores, project_id, v.check_uuid(spec.task_id, "scorer.taskId"))
        fields = metric_fields(task.schema)
        if not fields:
            raise BadRequest(
                f"feedback task {task.name!r} has no numeric or boolean field to score",
                field="scorer.field",
            )
        name = spec.field or fields[0].name
        if name not in {f.name for f in fields}:
            raise BadRequest(
                f"scorer.field {name!r} is not a numeric or boolean field of task "
                f"{task.name!r}: one of {', '.join(f.name for f in fields)}",
                field="scorer.field",
            )
        key = metric_key(task.name, name)
        if definition.key is not None and definition.key != key:
            raise BadRequest(
                f"a rule scoring task {task.name!r} writes to {key!r}; leave key out",
                field="key",
            )
        tags = list(dict.fromkeys([*definition.filter.tags, *task.run_tag_selector]))
        target = await load_target(stores, project_id, task_id=task.id, key=None)
        definition = replace(
            definition,
            key=key,
            scorer=replace(spec, task_id=task.id, field=name),
            filter=replace(definition.filter, tags=tags),
        )
    else:
        if definition.key is None:
            raise BadRequest(
                "give the rule's key (a registered key: the judge scores it) or scorer.taskId",
                field="key",
            )
        if spec.field is not None:
            raise BadRequest("scorer.field is for task scorers only", field="scorer.field")
        target = await load_target(stores, project_id, task_id=None, key=definition.key)
        assert isinstance(target, KeyTarget)
    instructions_only = spec.kind == "llm" and bool(target.instructions)
    if not instructions_only and not await target.examples(stores, SCAN_PAGE):
        hint = " (an llm judge can also work from instructions alone)" if spec.kind == "llm" else ""
        what = "task" if spec.task_id is not None else "key"
        raise BadRequest(
            f"nothing to learn from yet: no labels from people on this {what}{hint}",
            field="scorer",
        )
    return definition


async def _prepare(
    stores: Stores,
    settings: Settings,
    project_id: str,
    definition: RuleDefinition,
    previous: RuleDefinition | None,
) -> tuple[RuleDefinition, str | None]:
    """The definition as it will be stored, and an HTTP secret this save sets."""
    check_common(definition)
    spec = definition.scorer
    secret: str | None = None
    if spec.kind in ("llm", "nearest_neighbour"):
        if spec.kind == "llm":
            check_method("llm", settings)
        for name in ("check", "url", "secret"):
            if getattr(spec, name) is not None:
                raise BadRequest(f"scorer.{name} is not for {spec.kind} scorers", field="scorer")
        return await _learnable(stores, definition, project_id), None
    if spec.task_id is not None or spec.field is not None:
        raise BadRequest(f"scorer.taskId and field are not for {spec.kind} scorers")
    if definition.key is None:
        raise BadRequest(f"a {spec.kind} rule needs the key its scores are written to", field="key")
    check_key_name(definition.key)
    if spec.kind == "check":
        if spec.check is None:
            raise BadRequest("a check scorer needs scorer.check", field="scorer.check")
        check_spec(spec.check)
        registered = await stores.feedback_keys.get(project_id, definition.key)
        if registered is not None and registered.kind != "boolean":
            raise BadRequest(
                f"checks write true or false, and key {definition.key!r} is registered as "
                f"{registered.kind}: use a boolean key",
                field="key",
            )
        return definition, None
    # http
    if spec.url is None:
        raise BadRequest("an http scorer needs scorer.url", field="scorer.url")
    url = check_url(spec.url, allow_private_networks=settings.webhook_allow_private_networks)
    if not 1 <= spec.timeout_seconds <= 120:
        raise BadRequest("scorer.timeoutSeconds must be between 1 and 120", field="scorer")
    if spec.secret is not None:
        if not MIN_SECRET_CHARS <= len(spec.secret) <= 200:
            raise BadRequest(
                f"scorer.secret must be {MIN_SECRET_CHARS} to 200 characters long",
                field="scorer.secret",
            )
        secret = spec.secret
    elif previous is not None and previous.scorer.secret is not None:
        stored = previous.scorer.secret
        return replace(definition, scorer=replace(spec, url=url, secret=stored)), None
    else:
        secret = new_secret()
    return replace(definition, scorer=replace(spec, url=url, secret=secret)), secret


async def _register_check_key(stores: Stores, project_id: str, definition: RuleDefinition) -> None:
    key = definition.key
    if (
        definition.scorer.kind == "check"
        and key is not None
        and await stores.feedback_keys.get(project_id, key) is None
    ):
        description = "Written by an online evaluation check"
        await register_key(
            stores, project_id, key, KeyConfig(kind="boolean", description=description)
        )


async def get_rule(stores: Stores, project_id: str, rule_id: str) -> EvaluationRule:
    rule_id = v.check_uuid(rule_id, "id")
    rule = await stores.evaluation_rules.get(project_id, rule_id)
    if rule is None:
        raise NotFound(f"evaluation rule {rule_id} not found", field="id")
    return rule


async def find_rule(stores: Stores, project_id: str, name_or_id: str) -> EvaluationRule:
    """A rule by its name, or by its id (how the CLI names one)."""
    rule = await stores.evaluation_rules.by_name(project_id, name_or_id)
    if rule is None:
        with contextlib.suppress(BadRequest):
            rule = await stores.evaluation_rules.get(project_id, v.check_uuid(name_or_id, "rule"))
    if rule is None:
        raise NotFound(f"no evaluation rule named {name_or_id!r} (or with that id)")
    return rule


async def create_rule(
    stores: Stores,
    settings: Settings,
    queue: EvaluationQueue,
    project_id: str,
    name: str,
    definition: RuleDefinition,
    created_by: str,
) -> SavedRule:
    _check_name(name)
    prepared, secret = await _prepare(stores, settings, project_id, definition, None)
    if await stores.evaluation_rules.count(project_id) >= MAX_RULES_PER_PROJECT:
        raise BadRequest(f"a project can have at most {MAX_RULES_PER_PROJECT} evaluation rules")
    await _register_check_key(stores, project_id, prepared)
    try:
        rule = await stores.evaluation_rules.create(
            project_id, name, prepared.to_doc(), created_by, clock.now()
        )
    except DuplicateKeyError:
        raise Conflict(f"an evaluation rule named {name!r} exists already", field="name") from None
    queue.forget(project_id)
    return SavedRule(rule, secret)


async def update_rule(
    stores: Stores,
    settings: Settings,
    queue: EvaluationQueue,
    project_id: str,
    rule_id: str,
    name: str | None,
    definition: RuleDefinition,
    by: str,
) -> SavedRule:
    """Save ``definition`` as the rule's next version (an HTTP evaluator given no
    secret keeps the one it had)."""
    current = await get_rule(stores, project_id, rule_id)
    new_name = _check_name(name) if name is not None else current.name
    previous = RuleDefinition.from_doc(current.definition)
    prepared, secret = await _prepare(stores, settings, project_id, definition, previous)
    await _register_check_key(stores, project_id, prepared)
    try:
        rule = await stores.evaluation_rules.replace_definition(
            project_id, current.id, current.version, new_name, prepared.to_doc(), by, clock.now()
        )
    except DuplicateKeyError:
        raise Conflict(
            f"an evaluation rule named {new_name!r} exists already", field="name"
        ) from None
    if rule is None:
        raise Conflict("the rule was changed meanwhile; read it again and retry")
    queue.forget(project_id)
    return SavedRule(rule, secret)


async def set_rule_status(
    stores: Stores, queue: EvaluationQueue, project_id: str, rule_id: str, status: str
) -> EvaluationRule:
    """Pause (no new runs are sampled, queued evaluations wait) or resume a rule."""
    rule = await get_rule(stores, project_id, rule_id)
    updated = await stores.evaluation_rules.set_status(project_id, rule.id, status, clock.now())
    if updated is None:
        raise NotFound(f"evaluation rule {rule.id} not found", field="id")
    queue.forget(project_id)
    return updated


async def delete_rule(
    stores: Stores, queue: EvaluationQueue, project_id: str, rule_id: str
) -> None:
    """Delete a rule and its queue and numbers; the feedback it wrote stays."""
    rule = await get_rule(stores, project_id, rule_id)
    if not await stores.evaluation_rules.delete(project_id, rule.id):
        raise NotFound(f"evaluation rule {rule.id} not found", field="id")
    await stores.evaluations.delete_for_rule(rule.id)
    queue.forget(project_id)


async def backfill(
    stores: Stores,
    queue: EvaluationQueue,
    project_id: str,
    rule_id: str,
    since: datetime,
    until: datetime | None,
) -> BackfillResult:
    """Apply the rule, with the same sampling, to the runs that started in
    [since, until): newest first, at most MAX_BACKFILL_RUNS per call. Runs already
    evaluated (or queued) under the rule's current version are not queued again."""
    rule = await get_rule(stores, project_id, rule_id)
    until = until or clock.now()
    if since >= until:
        raise BadRequest("the window is empty: after must be before before", field="after")
    active = ActiveRule.of(rule)
    spec = active.definition.filter
    query = RunQuery(
        tags=list(spec.tags),
        name=spec.name,
        model=spec.model,
        start_after=since,
        start_before=until,
        is_root=True if spec.root_only else None,
    )
    scanned = sampled = queued = 0
    after: str | None = None
    last_start: datetime | None = None
    while scanned < MAX_BACKFILL_RUNS:
        page = await stores.runs.page(project_id, query, SCAN_PAGE, after)
        runs = page.items[: MAX_BACKFILL_RUNS - scanned]
        scanned += len(runs)
        docs = sampled_docs([active], runs, clock.now())
        sampled += len(docs)
        queued += await stores.evaluations.enqueue(docs)
        if runs:
            last_start = runs[-1].start_time
        if not page.has_next_page or len(runs) < len(page.items):
            complete = not page.has_next_page and len(runs) == len(page.items)
            break
        after = page.end_cursor
    else:
        complete = False
    if queued:
        queue.on_enqueue()
    return BackfillResult(
        scanned=scanned,
        sampled=sampled,
        queued=queued,
        complete=complete,
        # Runs starting exactly at the last one scanned are looked at again (and found
        # queued already), so none is missed.
        resume_before=None if complete or last_start is None else last_start + MS,
    )
