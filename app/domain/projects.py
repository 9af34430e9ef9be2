"""Projects: the rules for creating one, and finding one by name."""

from __future__ import annotations

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


async def find_project(stores: Stores, name: str) -> Project:
    """The project called ``name`` (how the CLI names one)."""
    project = await stores.projects.by_name(name)
    if project is None:
        raise NotFound(f"no project named {name!r} (create it: plaudit projects create NAME)")
    return project
