"""Permission classes; every query and mutation field declares one."""

from __future__ import annotations

from typing import Any, ClassVar

from strawberry.permission import BasePermission
from strawberry.types import Info

from app.errors import Forbidden
from app.graphql.context import Context


class _Grant(BasePermission):
    grant: ClassVar[str]
    message = "not allowed"

    def has_permission(self, source: Any, info: Info[Context, None], **kwargs: Any) -> bool:
        # Raises Unauthenticated or Forbidden with a specific message and code.
        info.context.require(self.grant)
        return True


class CanRead(_Grant):
    grant = "read"


class CanIngest(_Grant):
    grant = "ingest"


class IsAdmin(_Grant):
    grant = "admin"


class _TaskGrant(_Grant):
    """An API key with ``grant``, or a reviewer link for the task named by the
    field's argument ``task_arg`` (a reviewer link has no grant of its own)."""

    task_arg: ClassVar[str]

    def has_permission(self, source: Any, info: Info[Context, None], **kwargs: Any) -> bool:
        principal = info.context.require_any()
        scope = principal.review
        if scope is None:
            principal.require(self.grant)
        elif str(kwargs.get(self.task_arg)) != scope.task_id:
            raise Forbidden("this reviewer link is for another feedback task")
        return True


class CanReadTask(_TaskGrant):
    grant = "read"
    task_arg = "task_id"


class CanReadTaskById(_TaskGrant):
    grant = "read"
    task_arg = "id"


class CanReviewTask(_TaskGrant):
    grant = "ingest"
    task_arg = "task_id"


class IsAuthenticated(_Grant):
    """Any API key or reviewer link (fields that describe the caller)."""

    def has_permission(self, source: Any, info: Info[Context, None], **kwargs: Any) -> bool:
        info.context.require_any()
        return True
