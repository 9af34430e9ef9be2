"""What Langfuse's list routes share: their query parameters (a filter Plaudit
does not apply is refused, naming it, never ignored), pages by number with
Langfuse's ``meta``, and the runs' parents a page needs.

A list is a run search (app/domain/run_search.py): one index walked newest first
with the other filters tested on each run, bounded. Page ``n`` walks past the
matches of the pages before it. Counting every match would read them all, so
``totalItems`` counts the matches up to this page and one more when another
follows: exact on the last page, and ``totalPages`` is ``page + 1`` until then."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from starlette.requests import Request

from app.compat.langfuse import shapes
from app.compat.langfuse.ids import trace_run_id
from app.compat.langsmith.http import parse_time, query_int, services
from app.domain.otel_ids import SPAN_ID_HEX, run_id_for_span
from app.domain.run_search import RunSearch, search_runs
from app.errors import BadRequest, NotFound
from app.store.runs import Run, RunAccess

MAX_LIMIT = 100
# Pages past this many items are refused (a page walks past every item before it).
MAX_OFFSET = 10_000


def check_params(request: Request, accepted: tuple[str, ...]) -> None:
    """400 for a query parameter this route does not apply."""
    for name in request.query_params:
        if name not in accepted:
            raise BadRequest(
                f"the filter {name[:40]!r} is not supported by Plaudit's Langfuse-compatible "
                f"API here; supported: {', '.join(accepted) or 'none'}",
                field=name,
            )


def in_environment(request: Request) -> bool:
    """Whether ``environment`` (if given) names Langfuse's default one: Plaudit has
    no environments, everything is in "default", so any other matches nothing."""
    wanted = request.query_params.getlist("environment")
    return not wanted or shapes.ENVIRONMENT in wanted


def time_filter(request: Request, low: str, high: str) -> tuple[datetime | None, datetime | None]:
    """``low <= t < high`` from the two parameters (ISO 8601)."""
    params = request.query_params
    since = parse_time(params[low], low) if params.get(low) else None
    until = parse_time(params[high], high) if params.get(high) else None
    return since, until


@dataclass(frozen=True)
class PageAsked:
    page: int
    limit: int

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.limit

    def meta(self, found: int, more: bool) -> dict[str, int]:
        """Langfuse's meta for a page of ``found`` items, ``more`` following it."""
        total = self.offset + found + (1 if more else 0)
        return {
            "page": self.page,
            "limit": self.limit,
            "totalItems": total,
            "totalPages": -(-total // self.limit),
        }


def page_asked(request: Request, max_limit: int = MAX_LIMIT) -> PageAsked:
    limit = query_int(request, "limit", 50, 1, max_limit)
    page = query_int(request, "page", 1, 1, MAX_OFFSET)
    asked = PageAsked(page, limit)
    if asked.offset + limit > MAX_OFFSET:
        raise BadRequest(
            f"page {page} of {limit} is past the first {MAX_OFFSET} items, which is as "
            "far as Plaudit pages; narrow the filters (fromTimestamp, toTimestamp)",
            field="page",
        )
    return asked


async def walk_page(
    request: Request, project_id: str, search: RunSearch, skip: int, limit: int
) -> tuple[list[Run], bool]:
    """The matches after the first ``skip``, at most ``limit``; and whether more follow."""
    stores = services(request).stores
    wanted = skip + limit + 1
    found: list[Run] = []
    cursor: str | None = None
    while len(found) < wanted:
        page = await search_runs(stores, project_id, search, wanted - len(found), cursor)
        found += page.runs
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    return found[skip : skip + limit], len(found) > skip + limit


async def find_trace(request: Request, project_id: str, raw: str) -> Run:
    """The run a trace id names: the run with that id (a Langfuse trace's, a
    LangSmith root run's), else the root run of the OTel trace with that id."""
    run_id = trace_run_id(raw)
    stores = services(request).stores
    found = await stores.runs.get(project_id, run_id)
    if found is not None and not shapes.is_trace(found):
        found = None
    if found is None:
        roots = await search_runs(
            stores,
            project_id,
            RunSearch(RunAccess("trace_id", run_id), shapes.is_trace),
            1,
            None,
        )
        found = roots.runs[0] if roots.runs else None
    if found is None:
        raise NotFound(f"trace {raw[:80]} not found")
    return found


async def observation_run_id(
    request: Request, project_id: str, raw: str, trace_id: str | None, field: str
) -> str | None:
    """The run an observation id names: an OTel span id (16 hex digits) with its
    trace id, or found by its span id alone; else a run id. None: no such run."""
    if len(raw) == SPAN_ID_HEX:
        if trace_id:
            return run_id_for_span(trace_id, raw, ("traceId", field))
        found = await services(request).stores.runs.with_span_id(project_id, raw.lower())
        return found[0].id if found else None
    return raw


async def parent_ids(request: Request, project_id: str, runs: list[Run]) -> dict[str, str | None]:
    """Each run's parent observation id (None: under a trace, or a root)."""
    known = {run.id: run for run in runs}
    missing = [r.parent_run_id for r in runs if r.parent_run_id and r.parent_run_id not in known]
    if missing:
        for parent in await services(request).stores.runs.get_many(project_id, missing):
            known[parent.id] = parent
    found: dict[str, str | None] = {}
    for run in runs:
        above = known.get(run.parent_run_id) if run.parent_run_id else None
        if run.parent_run_id is None or (above is not None and shapes.is_trace_run(above)):
            found[run.id] = None
        else:
            found[run.id] = shapes.observation_id(above) if above else run.parent_run_id
    return found
