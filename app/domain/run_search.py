"""Run searches with any predicate, kept on an index and bounded.

A search walks one index (RunAccess: a trace, a parent, a tracing project, the
trace roots, the whole project, or a list of ids) in start-time order, newest or
oldest first, and tests each run with its predicate. The walk is bounded: at most
EXAMINED_PER_PAGE runs are read for one page. When they yield some matches, the
page has them and a cursor to go on from where the walk stopped; when they yield
none, the search is refused and says how to narrow it (a page with no runs would
end the SDKs' paging). Keyset cursors: (start time, id)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from app.errors import BadRequest
from app.store import Stores
from app.store.pagination import decode_cursor, encode_cursor
from app.store.runs import Run, RunAccess

# Runs read from the index per round trip, and per page at most.
WINDOW = 500
EXAMINED_PER_PAGE = 10_000
# A search by ids (given, or found by a feedback filter) reads them all at once.
MAX_IDS = 10_000


@dataclass(frozen=True)
class RunSearch:
    access: RunAccess = field(default_factory=RunAccess)
    predicate: Callable[[Run], bool] = lambda run: True
    # since <= start_time < until
    since: datetime | None = None
    until: datetime | None = None
    oldest_first: bool = False
    # The predicate reads inputs or outputs (otherwise the walk leaves them out).
    heavy: bool = False


@dataclass(frozen=True)
class SearchPage:
    runs: list[Run]
    next_cursor: str | None


def _order(run: Run) -> tuple[datetime, str]:
    return run.start_time, run.id


async def search_runs(
    stores: Stores, project_id: str, search: RunSearch, size: int, cursor: str | None
) -> SearchPage:
    after = decode_cursor(cursor) if cursor else None
    if search.access.ids is not None:
        matched, resume = await _by_ids(stores, project_id, search, size, after), None
    else:
        matched, resume = await _walk(stores, project_id, search, size, after)
    page = matched[:size]
    if len(matched) > size:
        next_cursor: str | None = encode_cursor(*_order(page[-1]))
    elif resume is not None:
        if not page:
            raise BadRequest(
                f"no run matched among the {EXAMINED_PER_PAGE} runs read for this page "
                "(Plaudit reads at most that many past the indexed filters: session, "
                "trace, parent_run, is_root, id and start_time); narrow the query "
                "with one of those"
            )
        next_cursor = encode_cursor(*resume)
    else:
        next_cursor = None
    if not search.heavy and page:
        whole = {r.id: r for r in await stores.runs.get_many(project_id, [r.id for r in page])}
        page = [whole.get(r.id, r) for r in page]
    return SearchPage(runs=page, next_cursor=next_cursor)


async def _by_ids(
    stores: Stores,
    project_id: str,
    search: RunSearch,
    size: int,
    after: tuple[datetime, str] | None,
) -> list[Run]:
    ids = list(search.access.ids or ())
    if len(ids) > MAX_IDS:
        raise BadRequest(f"at most {MAX_IDS} run ids at once, got {len(ids)}", field="id")
    runs = await stores.runs.with_ids(project_id, ids, heavy=search.heavy)
    runs.sort(key=_order, reverse=not search.oldest_first)
    matched = []
    for run in runs:
        if after is not None and (
            _order(run) <= after if search.oldest_first else _order(run) >= after
        ):
            continue
        if search.since is not None and run.start_time < search.since:
            continue
        if search.until is not None and run.start_time >= search.until:
            continue
        if search.predicate(run):
            matched.append(run)
            if len(matched) > size:
                break
    return matched


async def _walk(
    stores: Stores,
    project_id: str,
    search: RunSearch,
    size: int,
    after: tuple[datetime, str] | None,
) -> tuple[list[Run], tuple[datetime, str] | None]:
    """Matches (one more than a page when there are more), and where to go on
    from when the walk stopped at its bound."""
    matched: list[Run] = []
    examined = 0
    while True:
        window = await stores.runs.walk(
            project_id,
            search.access,
            since=search.since,
            until=search.until,
            after=after,
            oldest_first=search.oldest_first,
            size=WINDOW,
            heavy=search.heavy,
        )
        for run in window:
            examined += 1
            after = _order(run)
            if search.predicate(run):
                matched.append(run)
                if len(matched) > size:
                    return matched, None
        if len(window) < WINDOW:
            return matched, None
        if examined >= EXAMINED_PER_PAGE:
            return matched, after
