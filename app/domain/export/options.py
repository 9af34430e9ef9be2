"""Export formats and their options, checked the same way for the CLI and HTTP."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from app.domain import validation as v
from app.errors import BadRequest, NotFound

FORMATS = ("dpo", "sft", "feedback", "regressions")
# The sources each format can draw from; all of them unless ``sources`` narrows it.
SOURCES: dict[str, tuple[str, ...]] = {
    "dpo": ("preferences", "edits", "feedback"),
    "sft": ("corrections", "edits"),
}
DEFAULT_MAX_PAIRS_PER_PROMPT = 10
MAX_PAIRS_PER_PROMPT = 1000


@dataclass(frozen=True)
class ExportOptions:
    format: str
    # Only feedback (and preferences) on this key.
    key: str | None = None
    # Only records created at or after this time.
    since: datetime | None = None
    sources: tuple[str, ...] = ()
    # regressions: the feedback key or "<task name>.<field>" naming the error mode.
    group_by: str | None = None
    # dpo from feedback: at most this many (chosen, rejected) pairs per prompt and key.
    max_pairs_per_prompt: int = DEFAULT_MAX_PAIRS_PER_PROMPT


def parse_since(raw: str) -> datetime:
    """An ISO 8601 date or date-time; without a time zone, UTC."""
    try:
        at = datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
    except ValueError:
        raise BadRequest(
            f"since must be an ISO 8601 date or date-time (e.g. 2025-01-31T00:00:00Z), "
            f"got {raw[:80]!r}",
            field="since",
        ) from None
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def parse_options(
    format: str,
    *,
    key: str | None = None,
    since: str | None = None,
    sources: str | None = None,
    group_by: str | None = None,
    max_pairs_per_prompt: str | int | None = None,
) -> ExportOptions:
    if format not in FORMATS:
        raise NotFound(f"unknown export format {format!r}; formats are {', '.join(FORMATS)}")
    if key is not None:
        v.check_text(key, "key", 200)
    allowed = SOURCES.get(format, ())
    chosen: tuple[str, ...] = allowed
    if sources is not None:
        if not allowed:
            raise BadRequest(f"the {format} export takes no sources", field="sources")
        chosen = tuple(dict.fromkeys(s.strip() for s in sources.split(",") if s.strip()))
        unknown = [s for s in chosen if s not in allowed]
        if unknown or not chosen:
            raise BadRequest(
                f"sources for {format} are {', '.join(allowed)} (comma-separated); "
                f"got {sources[:200]!r}",
                field="sources",
            )
    if group_by is not None:
        if format != "regressions":
            raise BadRequest("group_by applies only to the regressions export", field="group_by")
        v.check_text(group_by, "group_by", 400)
    pairs = DEFAULT_MAX_PAIRS_PER_PROMPT
    if max_pairs_per_prompt is not None:
        if format != "dpo":
            raise BadRequest(
                "max_pairs_per_prompt applies only to the dpo export", field="max_pairs_per_prompt"
            )
        try:
            pairs = int(max_pairs_per_prompt)
        except ValueError:
            pairs = 0
        if not 1 <= pairs <= MAX_PAIRS_PER_PROMPT:
            raise BadRequest(
                f"max_pairs_per_prompt must be a whole number from 1 to {MAX_PAIRS_PER_PROMPT}",
                field="max_pairs_per_prompt",
            )
    return ExportOptions(
        format=format,
        key=key,
        since=parse_since(since) if since is not None else None,
        sources=chosen,
        group_by=group_by,
        max_pairs_per_prompt=pairs,
    )
