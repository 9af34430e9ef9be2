"""Permission classes; every query and mutation field declares one."""

from __future__ import annotations

from typing import Any, ClassVar

from strawberry.permission import BasePermission
from strawberry.types import Info

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
