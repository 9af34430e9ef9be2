"""Feedback statistics: per group, count, mean, min, max, standard deviation,
p50/p90, positive/negative, label counts, a distribution and recent comments.

Statistics filtered only by key and time, grouped only by key and time, are read
from rollups (app/domain/analytics/rollup_reads.py): their cost does not grow with the
number of feedback records. So are those grouped by key and time and ONE of user,
source, model, tag or session (tracing project), from the grouped rollups
(app/domain/analytics/group_reads.py; beyond a bound of values per bucket, the rest
count in an "other" group). Anything else (a run metadata field, several of those
groupings, any filter besides keys and time) is an aggregation over the feedback,
starting from the indexed ``(project_id, key, created_at)``.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from app import clock
from app.domain.analytics import windows
from app.domain.analytics.group_reads import fix_group_extremes
from app.domain.analytics.group_rollups import GROUP_DIMENSIONS
from app.domain.analytics.partial import GroupStats, Partial, finish
from app.domain.analytics.rollup_buffer import RollupBuffer
from app.domain.analytics.rollup_reads import Piece, fix_extremes, needs_hist, plan, to_partial
from app.domain.analytics.rules import UNSEEN_THRESHOLD, KeyRule, load_rules, thresholds
from app.errors import BadRequest
from app.store import Stores, jsonsafe
from app.store.feedback import Feedback
from app.store.feedback_analytics import (
    DIMENSIONS,
    TIME_UNITS,
    Dimension,
    StatsFilter,
    StatsRow,
    metadata_path,
)
from app.store.feedback_group_buckets import GroupRollup
from app.store.feedback_rollups import Rollup

MAX_DIMENSIONS = 4
MAX_KEYS = 100
MAX_COMMENTS = 20
MAX_LIMIT = 10_000
DEFAULT_LIMIT = 1000
MAX_TIME_BUCKETS = 10_000
ROLLUP_DIMENSIONS = ("key", "time")
# The value of the "other" group of grouped rollups: equal to no real value.
OTHER = ("other",)
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(9000, 1, 1, tzinfo=UTC)


@dataclass
class StatsRequest:
    filter: StatsFilter = field(default_factory=StatsFilter)
    dims: list[Dimension] = field(default_factory=list)
    with_hist: bool = True  # percentiles, labels, distribution
    comments: int = 0  # recent comments per group
    limit: int = DEFAULT_LIMIT
    distribution_buckets: int = 10


@dataclass(frozen=True)
class GroupResult:
    stats: GroupStats
    comments: list[Feedback]


@dataclass(frozen=True)
class StatsResult:
    groups: list[GroupResult]
    source: str  # rollups | aggregation
    truncated: bool


def _hashable(value: Any) -> Hashable:
    if isinstance(value, dict | list):
        return ("json", json.dumps(value, sort_keys=True, default=str))
    if isinstance(value, datetime):
        return windows.as_utc(value)
    return value  # type: ignore[no-any-return]


def check_request(request: StatsRequest) -> None:
    f = request.filter
    if f.keys is not None and not 1 <= len(f.keys) <= MAX_KEYS:
        raise BadRequest(f"keys: give between 1 and {MAX_KEYS} keys (or leave it out)")
    for name in ("since", "until"):
        at = getattr(f, name)
        if at is not None:
            at = windows.as_utc(at)
            if not EARLIEST <= at <= LATEST:
                field = "after" if name == "since" else "before"
                raise BadRequest(f"{field} must be between 1970 and 9000", field=field)
            setattr(f, name, at)
    if f.since is not None and f.until is not None and f.since >= f.until:
        raise BadRequest("the window is empty: `after` must be before `before`")
    if len(request.dims) > MAX_DIMENSIONS:
        raise BadRequest(f"groupBy takes at most {MAX_DIMENSIONS} dimensions")
    seen: set[tuple[str, str | None]] = set()
    for dim in request.dims:
        if dim.kind not in DIMENSIONS:
            raise BadRequest(f"unknown dimension {dim.kind!r}")
        if dim.kind == "time" and dim.unit not in TIME_UNITS:
            raise BadRequest("group by TIME needs a bucket: HOUR, DAY or WEEK")
        if dim.kind != "time" and dim.unit is not None:
            raise BadRequest("bucket applies only to TIME")
        if dim.kind == "metadata":
            if not dim.field:
                raise BadRequest("group by METADATA needs a field")
            metadata_path(dim.field)
        elif dim.field is not None:
            raise BadRequest("field applies only to METADATA")
        ident = (dim.kind, dim.field if dim.kind == "metadata" else None)
        if ident in seen:
            raise BadRequest(f"groupBy names {dim.kind.upper()} twice")
        seen.add(ident)
    for path, _ in f.metadata:
        metadata_path(path)
    if not 0 <= request.comments <= MAX_COMMENTS:
        raise BadRequest(f"comments: between 0 and {MAX_COMMENTS} per group")
    if not 1 <= request.limit <= MAX_LIMIT:
        raise BadRequest(f"limit: between 1 and {MAX_LIMIT}")
    if not 1 <= request.distribution_buckets <= 50:
        raise BadRequest("distributionBuckets: between 1 and 50")


class _Groups:
    """Partials merged per group (the group's dimension values)."""

    def __init__(self, dims: list[Dimension]) -> None:
        self.dims = dims
        self.partials: dict[tuple[Hashable, ...], Partial] = {}
        self.values: dict[tuple[Hashable, ...], tuple[Any, ...]] = {}

    def add(self, values: tuple[Any, ...], partial: Partial) -> None:
        ident = tuple(_hashable(v) for v in values)
        self.partials.setdefault(ident, Partial()).merge(partial)
        self.values.setdefault(ident, values)

    def fill_time(self, request: StatsRequest) -> None:
        """Empty groups for time buckets with no feedback, so series have no gaps."""
        f = request.filter
        times = [i for i, d in enumerate(self.dims) if d.kind == "time"]
        if not times or f.since is None:
            return
        position = times[0]
        unit = self.dims[position].unit or "day"
        until = f.until or clock.now()
        end = min(until, clock.now() + windows.STEP[unit])
        if (end - windows.floor(f.since, unit)) / windows.STEP[unit] > MAX_TIME_BUCKETS:
            raise BadRequest(
                f"more than {MAX_TIME_BUCKETS} time buckets; use a coarser bucket or a "
                "shorter window"
            )
        starts = windows.starts(f.since, end, unit)
        others: dict[tuple[Hashable, ...], tuple[Any, ...]] = {}
        for ident, values in self.values.items():
            rest = ident[:position] + ident[position + 1 :]
            others.setdefault(rest, values[:position] + values[position + 1 :])
        if len(self.dims) == 1:
            others[()] = ()
        elif len(self.dims) == 2 and f.keys is not None and self.dims[1 - position].kind == "key":
            for key in f.keys:
                others.setdefault((key,), (key,))
        for values in others.values():
            for start in starts:
                full = (*values[:position], start, *values[position:])
                ident = tuple(_hashable(v) for v in full)
                if ident not in self.partials:
                    self.partials[ident] = Partial()
                    self.values[ident] = full

    def ordered(self) -> list[tuple[tuple[Hashable, ...], tuple[Any, ...], Partial]]:
        def sort_key(ident: tuple[Hashable, ...]) -> tuple[Any, ...]:
            times = tuple(
                v if isinstance(v, datetime) else datetime.max.replace(tzinfo=UTC)
                for v, d in zip(ident, self.dims, strict=True)
                if d.kind == "time"
            )
            rest = tuple(
                (v is None, str(v))
                for v, d in zip(ident, self.dims, strict=True)
                if d.kind != "time"
            )
            return (times, -self.partials[ident].count, rest)

        return [(i, self.values[i], self.partials[i]) for i in sorted(self.partials, key=sort_key)]


def _group_dict(dims: list[Dimension], values: tuple[Any, ...]) -> dict[str, object]:
    group: dict[str, object] = {}
    for dim, value in zip(dims, values, strict=True):
        if value == OTHER:
            group[dim.kind] = None
            group["other"] = True
        elif dim.kind == "metadata":
            metadata = group.setdefault("metadata", {})
            assert isinstance(metadata, dict)
            metadata[dim.field or ""] = jsonsafe.unescape(value)
        else:
            group[dim.kind] = value
    return group


def _rule(rules: dict[str, KeyRule], key: str) -> KeyRule:
    rule = rules.get(key)
    if rule is None:
        rule = rules[key] = KeyRule.of(key, None)
    return rule


def _add_rows(groups: _Groups, rows: Iterable[StatsRow], rules: dict[str, KeyRule]) -> None:
    """Rows (per key, group and bin) -> one partial per key and group -> groups."""
    per_key: dict[tuple[str, tuple[Hashable, ...]], tuple[Partial, list[int], tuple[Any, ...]]]
    per_key = {}
    for row in rows:
        rule = _rule(rules, row.key)
        ident = (row.key, tuple(_hashable(v) for v in row.dims))
        entry = per_key.get(ident)
        if entry is None:
            entry = per_key[ident] = (Partial(), [0, 0], row.dims)
        partial, bools, _ = entry
        hist: Counter[str] = Counter()
        if row.bin is not None and row.scored:
            hist[row.bin] = row.scored
        partial.merge(
            Partial.of(
                rule,
                row,
                above=row.above,
                below=row.below,
                low=row.min_score,
                high=row.max_score,
                hist=hist,
            )
        )
        bools[0] += row.bool_true
        bools[1] += row.bool_false
    for (key, _), (partial, bools, values) in per_key.items():
        partial.add_labels(_rule(rules, key), bools[0], bools[1])
        groups.add(values, partial)


def _rollup_values(dims: list[Dimension], rollup: Rollup) -> tuple[Any, ...]:
    values: list[Any] = []
    for dim in dims:
        if dim.kind == "key":
            values.append(rollup.id.key)
        else:
            values.append(windows.floor(rollup.id.start, dim.unit or "day"))
    return tuple(values)


async def _from_rollups(
    stores: Stores,
    project_id: str,
    request: StatsRequest,
    rules: dict[str, KeyRule],
    groups: _Groups,
) -> None:
    f = request.filter
    hourly = any(d.kind == "time" and d.unit == "hour" for d in request.dims)
    for piece in plan(f.since, f.until, hourly=hourly):
        if piece.source == "raw":
            await _from_raw(stores, project_id, request, rules, groups, piece)
            continue
        rollups = await stores.feedback_rollups.fetch(
            project_id, f.keys, piece.source, piece.since, piece.until, with_hist=request.with_hist
        )
        if not request.with_hist and any(needs_hist(_rule(rules, r.id.key), r) for r in rollups):
            rollups = await stores.feedback_rollups.fetch(
                project_id, f.keys, piece.source, piece.since, piece.until, with_hist=True
            )
        extremes = await fix_extremes(stores, rollups)
        for rollup in rollups:
            rule = _rule(rules, rollup.id.key)
            groups.add(
                _rollup_values(request.dims, rollup),
                to_partial(rule, rollup, extremes.get(rollup.id)),
            )


def _group_values(dims: list[Dimension], found: GroupRollup) -> tuple[Any, ...]:
    values: list[Any] = []
    for dim in dims:
        if dim.kind == "key":
            values.append(found.id.key)
        elif dim.kind == "time":
            values.append(windows.floor(found.id.start, dim.unit or "day"))
        else:
            values.append(OTHER if found.id.other else found.id.value)
    return tuple(values)


async def _from_group_rollups(
    stores: Stores,
    project_id: str,
    request: StatsRequest,
    rules: dict[str, KeyRule],
    groups: _Groups,
    dim: Dimension,
) -> None:
    f = request.filter
    hourly = any(d.kind == "time" and d.unit == "hour" for d in request.dims)
    for piece in plan(f.since, f.until, hourly=hourly):
        if piece.source == "raw":
            await _from_raw(stores, project_id, request, rules, groups, piece)
            continue

        found = await stores.feedback_group_buckets.fetch(
            project_id,
            f.keys,
            dim.kind,
            piece.source,
            piece.since,
            piece.until,
            with_hist=request.with_hist,
        )
        if not request.with_hist and any(
            needs_hist(_rule(rules, g.id.key), g.rollup) for g in found
        ):
            found = await stores.feedback_group_buckets.fetch(
                project_id, f.keys, dim.kind, piece.source, piece.since, piece.until, with_hist=True
            )
        # A group whose records all went (deleted, retracted) keeps a document of zeros.
        found = [g for g in found if g.rollup.count]
        extremes = await fix_group_extremes(stores, found)
        for g in found:
            rule = _rule(rules, g.id.key)
            groups.add(
                _group_values(request.dims, g), to_partial(rule, g.rollup, extremes.get(g.id))
            )


async def _from_raw(
    stores: Stores,
    project_id: str,
    request: StatsRequest,
    rules: dict[str, KeyRule],
    groups: _Groups,
    piece: Piece | None = None,
) -> None:
    f = request.filter
    if piece is not None:
        f = StatsFilter(keys=f.keys, since=piece.since, until=piece.until)
    rows = await stores.feedback_analytics.stats_rows(
        project_id,
        f,
        request.dims,
        thresholds(rules),
        default_threshold=UNSEEN_THRESHOLD,
        with_hist=request.with_hist,
    )
    _add_rows(groups, rows, rules)


def uses_rollups(request: StatsRequest) -> bool:
    return request.filter.only_keys_and_time() and all(
        d.kind in ROLLUP_DIMENSIONS for d in request.dims
    )


def grouped_dimension(request: StatsRequest) -> Dimension | None:
    """The grouping a request is answered by grouped rollups for, if any."""
    if not request.filter.only_keys_and_time():
        return None
    grouped = [d for d in request.dims if d.kind in GROUP_DIMENSIONS]
    rest = [d for d in request.dims if d.kind not in GROUP_DIMENSIONS]
    if len(grouped) != 1 or any(d.kind not in ROLLUP_DIMENSIONS for d in rest):
        return None
    return grouped[0]


async def feedback_stats(
    stores: Stores, project_id: str, request: StatsRequest, buffer: RollupBuffer | None = None
) -> StatsResult:
    check_request(request)
    if buffer is not None:
        await buffer.flush()  # this process reads its own writes (and key kinds)
    rules = await load_rules(stores, project_id, request.filter.keys)
    groups = _Groups(request.dims)
    grouped = grouped_dimension(request)
    if uses_rollups(request):
        await _from_rollups(stores, project_id, request, rules, groups)
        source = "rollups"
    elif grouped is not None:
        await _from_group_rollups(stores, project_id, request, rules, groups, grouped)
        source = "rollups"
    else:
        await _from_raw(stores, project_id, request, rules, groups)
        source = "aggregation"
    groups.fill_time(request)
    ordered = groups.ordered()
    truncated = len(ordered) > request.limit
    ordered = ordered[: request.limit]
    comments: dict[tuple[Hashable, ...], list[Feedback]] = {}
    if request.comments and ordered:
        found = await stores.feedback_analytics.recent_comments(
            project_id, request.filter, request.dims, request.comments
        )
        comments = {tuple(_hashable(v) for v in k): docs for k, docs in found.items()}
    return StatsResult(
        groups=[
            GroupResult(
                stats=finish(
                    _group_dict(request.dims, values),
                    partial,
                    distribution_buckets=request.distribution_buckets,
                ),
                comments=comments.get(ident, []),
            )
            for ident, values, partial in ordered
        ],
        source=source,
        truncated=truncated,
    )
