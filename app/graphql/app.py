"""The GraphQL endpoint: Strawberry's ASGI app with Plaudit's context."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL

from app.domain.auth import authenticate, bearer_secret
from app.errors import PlauditError, Unauthenticated
from app.graphql.context import Context
from app.graphql.loaders import Loaders
from app.graphql.websocket_auth import ConnectionAck, accept_connection
from app.services import Services


class PlauditGraphQL(GraphQL[Context, None]):
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

    async def on_ws_connect(self, context: Context) -> ConnectionAck:
        """Authenticate a WebSocket from its connection_init payload."""
        return await accept_connection(context)
