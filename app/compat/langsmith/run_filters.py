"""``/runs/query``'s arguments and filter as one search (app/domain/run_search.py):
a predicate (run_conditions.py) and the narrowest index it allows, walked
between the start times every match must lie between."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from app.compat.langsmith.filter_syntax import parse
from app.compat.langsmith.run_conditions import (
    FIELDS,
    AllOf,
    Compare,
    Condition,
    HasFeedback,
    compare_error,
    compare_scalar,
    compile_filter,
    walk,
    whole,
)
from app.domain.run_search import MAX_IDS, RunSearch
from app.errors import BadRequest
from app.store import Stores
from app.store.ranges import MS
from app.store.runs import RunAccess


@dataclass
class QueryArgs:
    """``/runs/query``'s arguments, checked."""

    sessions: list[str] | None = None
    ids: list[str] | None = None
    trace: str | None = None
    parent_run: str | None = None
    is_root: bool | None = None
    run_type: str | None = None
    error: bool | None = None
    start_time: datetime | None = None
    filter: str | None = None
    oldest_first: bool = False


@dataclass(frozen=True)
class QueryPlan:
    search: RunSearch
    # Every feedback condition, looked up before searching (resolve()); those
    # every run must meet give the search its ids.
    feedback: list[HasFeedback]
    narrowing: list[HasFeedback]


def build(args: QueryArgs) -> QueryPlan:
    parts: list[Condition] = []

    def compare(name: str, op: str, value: Any) -> None:
        spec = FIELDS[name]
        parts.append(
            Compare(name, op, value, spec.get, compare_error if name == "error" else compare_scalar)
        )

    given = (
        ("session_id", "in", args.sessions),
        ("id", "in", args.ids),
        ("trace_id", "eq", args.trace),
        ("parent_run_id", "eq", args.parent_run),
        ("is_root", "eq", args.is_root),
        ("run_type", "eq", args.run_type),
        ("error", "eq", args.error),
    )
    for name, op, value in given:
        if value is not None:
            compare(name, op, value)
    if args.filter is not None:
        parts.append(whole([compile_filter(parse(args.filter))], 0))
    condition = AllOf(parts)
    conjuncts = list(condition.parts())
    since, until = _time_bounds(conjuncts)
    if args.start_time is not None:
        since = max(since, args.start_time) if since is not None else args.start_time
    search = RunSearch(
        access=_access(conjuncts),
        predicate=condition.test,
        since=since,
        until=until,
        oldest_first=args.oldest_first,
        heavy=condition.reads_inputs(),
    )
    return QueryPlan(
        search=search,
        feedback=[c for c in walk(condition) if isinstance(c, HasFeedback)],
        narrowing=[c for c in conjuncts if isinstance(c, HasFeedback)],
    )


def _time_bounds(conjuncts: list[Condition]) -> tuple[datetime | None, datetime | None]:
    """A start_time range every run must be in: the walk's range (it may be wider
    than the conditions; they are tested anyway)."""
    since: datetime | None = None
    until: datetime | None = None
    for c in conjuncts:
        if not isinstance(c, Compare) or c.field != "start_time":
            continue
        if c.op in ("gt", "gte", "eq"):
            since = c.value if since is None else max(since, c.value)
        if c.op in ("lt", "lte", "eq"):
            high = c.value + MS
            until = high if until is None else min(until, high)
    return since, until


def _access(conjuncts: list[Condition]) -> RunAccess:
    """The narrowest index the conditions every run must meet allow."""
    compares = [c for c in conjuncts if isinstance(c, Compare)]

    def first(name: str, ops: tuple[str, ...]) -> Compare | None:
        return next((c for c in compares if c.field == name and c.op in ops), None)

    ids = first("id", ("eq", "in"))
    if ids is not None:
        return RunAccess(ids=tuple(ids.value) if ids.op == "in" else (ids.value,))
    for name in ("trace_id", "parent_run_id"):
        found = first(name, ("eq",))
        if found is not None and found.value is not None:
            return RunAccess(field=name, value=found.value)
    session = first("session_id", ("eq", "in"))
    if session is not None and (session.op == "eq" or len(set(session.value)) == 1):
        value = session.value if session.op == "eq" else session.value[0]
        return RunAccess(field="tracing_project_id", value=value)
    roots = first("is_root", ("eq",))
    if roots is not None and roots.value is True:
        return RunAccess(field="parent_run_id", value=None)
    return RunAccess()


async def resolve(stores: Stores, project_id: str, plan: QueryPlan) -> RunSearch:
    """Look up the runs the feedback conditions match (at most MAX_IDS each); a
    feedback condition every run must meet gives the search its ids."""
    for condition in plan.feedback:
        ids = await stores.feedback.run_ids_scored(
            project_id, condition.key, condition.scores, MAX_IDS + 1
        )
        if len(ids) > MAX_IDS:
            raise BadRequest(
                f"the feedback filter on {condition.key!r} matches more than {MAX_IDS} runs; "
                "narrow it with a score comparison",
                field="filter",
            )
        condition.run_ids = set(ids)
    search = plan.search
    if plan.narrowing and search.access.ids is None:
        narrowest = min(plan.narrowing, key=lambda c: len(c.run_ids or ()))
        search = replace(search, access=RunAccess(ids=tuple(sorted(narrowest.run_ids or ()))))
    return search
