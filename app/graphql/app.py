"""The GraphQL endpoint: Strawberry's ASGI app with Plaudit's context."""

from __future__ import annotations

from typing import Any, cast

from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLHTTPResponse, process_result
from strawberry.types import ExecutionResult

from app.domain.auth import authenticate, bearer_secret
from app.errors import PlauditError, Unauthenticated
from app.graphql.context import Context
from app.graphql.loaders import Loaders
from app.services import Services


class PlauditGraphQL(GraphQL[Context, None]):
    async def process_result(
        self, request: Request | WebSocket, result: ExecutionResult
    ) -> GraphQLHTTPResponse:
        # Errors raised before execution (a query that does not parse) bypass the
        # schema extensions; give them the same stable code as validation errors.
        response = process_result(result)
        for error in cast(list[dict[str, Any]], response.get("errors") or []):
            error.setdefault("extensions", {}).setdefault("code", "BAD_REQUEST")
        return response

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> Context:
        services: Services = request.app.state.services
        principal = None
        auth_error: PlauditError | None = None
        header = request.headers.get("authorization")
        secret = bearer_secret(header)
        if header and secret is None:
            auth_error = Unauthenticated("the Authorization header must be: Bearer <API key>")
        elif secret is not None:
            try:
                principal = await authenticate(services.stores, services.key_cache, secret)
            except PlauditError as exc:
                auth_error = exc
        return Context(
            request=request,
            response=response,
            services=services,
            principal=principal,
            auth_error=auth_error,
            loaders=Loaders.build(services.stores, principal.project_id if principal else None),
        )
