"""Projects: the rules for creating one, changing its settings, and finding one by name."""

from __future__ import annotations

from app.domain.feedback_tokens import check_origin
from app.domain.validation import check_text
from app.errors import BadRequest, NotFound
from app.store import Stores
from app.store.projects import Project


def check_project_name(name: str) -> str:
    """A project is found by its exact name, so the name must be one a person can
    type back: not empty, no spaces around it."""
    if not name.strip():
        raise BadRequest("a project name must not be empty", field="name")
    if name != name.strip():
        raise BadRequest(
            f"a project name must not start or end with spaces, got {name!r}", field="name"
        )
    check_text(name, "name")
    return name


async def create_project(stores: Stores, name: str) -> Project:
    return await stores.projects.create(check_project_name(name))


async def update_project(
    stores: Stores,
    project_id: str,
    *,
    strict_feedback_keys: bool | None = None,
    allowed_origins: list[str] | None = None,
    retention_days: int | None = None,
    langfuse_public_scores: bool | None = None,
) -> Project:
    """Change a project's settings; None leaves a setting as it is. Origins are
    checked as a token's are (scheme://host[:port], lower-cased). A retention of 0
    days means forever."""
    changes: dict[str, object] = {}
    if retention_days is not None:
        changes["retention_days"] = check_retention_days(retention_days)
    if strict_feedback_keys is not None:
        changes["strict_feedback_keys"] = strict_feedback_keys
    if langfuse_public_scores is not None:
        changes["langfuse_public_scores"] = langfuse_public_scores
    if allowed_origins is not None:
        changes["allowed_origins"] = [check_origin(o) for o in allowed_origins]
    if not changes:
        raise BadRequest("nothing to update")
    record = await stores.projects.update(project_id, changes)
    if record is None:
        raise NotFound("project not found")
    return record


MAX_RETENTION_DAYS = 36_500


def check_retention_days(days: int) -> int | None:
    """A retention period in days (None for 0: keep forever)."""
    if not 0 <= days <= MAX_RETENTION_DAYS:
        raise BadRequest(
            f"retentionDays must be between 0 (forever) and {MAX_RETENTION_DAYS}, got {days}",
            field="retentionDays",
        )
    return days or None


async def find_project(stores: Stores, name: str) -> Project:
    """The project called ``name`` (how the CLI names one)."""
    project = await stores.projects.by_name(name)
    if project is None:
        raise NotFound(f"no project named {name!r} (create it: plaudit projects create NAME)")
    return project
