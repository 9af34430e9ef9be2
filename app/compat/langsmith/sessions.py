"""``/sessions``: just enough for ``Client.read_project``, which SDK code uses to
find the ``session_id`` it passes to ``create_feedback``. Every session name is the
API key's project: Plaudit does not split a project by LangSmith project name."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from app.compat.langsmith.http import endpoint, iso, principal, services
from app.domain import validation as v
from app.errors import NotFound
from app.store.projects import Project


def to_json(project: Project) -> dict[str, Any]:
    return {
        "id": project.id,
        "name": project.name,
        "tenant_id": project.id,
        "start_time": iso(project.created_at),
        "end_time": None,
        "description": None,
        "extra": None,
        "reference_dataset_id": None,
    }


async def _project(request: Request, project_id: str) -> Project:
    project = await services(request).stores.projects.get(project_id)
    if project is None:
        raise NotFound("project not found")
    return project


@endpoint
async def list_(request: Request) -> Response:
    who = await principal(request, "read")
    return JSONResponse([to_json(await _project(request, who.project_id))])


@endpoint
async def read(request: Request) -> Response:
    who = await principal(request, "read")
    session_id = v.check_uuid(request.path_params["session_id"], "session_id")
    if session_id != who.project_id:
        raise NotFound(f"session {session_id} not found")
    return JSONResponse(to_json(await _project(request, who.project_id)))
