"""The GraphQL endpoint: Strawberry's ASGI app with Plaudit's context."""

from __future__ import annotations

import json
from typing import Any, cast

from cross_web import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLHTTPResponse, process_result
from strawberry.schema import BaseSchema
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types import ExecutionResult

from app.decoding import check_query_string, decode_json
from app.domain.auth import authenticate, bearer_secret, review_link_secret
from app.domain.reviewer_links import authenticate_reviewer_link
from app.errors import BadRequest, PlauditError, Unauthenticated
from app.graphql.context import Context
from app.graphql.ide import graphiql_page
from app.graphql.loaders import Loaders
from app.graphql.websocket_auth import ConnectionAck, accept_connection
from app.graphql.websocket_handler import KeyCheckingWSHandler
from app.services import Services


class PlauditGraphQL(GraphQL[Context, None]):
    graphql_transport_ws_handler_class = KeyCheckingWSHandler

    def __init__(self, schema: BaseSchema, **options: Any) -> None:
        # Only graphql-transport-ws, whose handler checks the API key for as long
        # as the socket is open; the legacy graphql-ws protocol would not.
        super().__init__(schema, subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,), **options)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        # Strawberry answers a request it cannot read (not JSON, a batch, no query)
        # in plain text; Plaudit's clients get JSON errors with a stable code.
        request = Request(scope=scope, receive=receive)
        try:
            if request.method == "GET":
                self.check_query_string(scope["query_string"])
            response = await self.run(request)
        except HTTPException as exc:
            response = JSONResponse(
                {"errors": [{"message": exc.reason, "extensions": {"code": BadRequest.code}}]},
                status_code=exc.status_code,
            )
        await response(scope, receive, send)

    async def render_graphql_ide(self, request: Request) -> Response:
        """GraphiQL from the package's own files (app/graphql/ide.py), never a CDN."""
        return graphiql_page(request)

    def parse_json(self, data: str | bytes) -> object:
        """Request bodies (bytes) and GET's ``variables``/``extensions`` (text)."""
        try:
            parsed = decode_json(
                data, "the request body" if isinstance(data, bytes) else "the JSON"
            )
        except PlauditError as exc:
            raise HTTPException(400, exc.message) from None
        if not isinstance(parsed, dict | list):
            raise HTTPException(400, "the request body must be a JSON object")
        return parsed

    def decode_json(self, data: str | bytes) -> object:
        """WebSocket messages: one refused closes the socket with 4400, as Strawberry
        does for a message that is not JSON."""
        try:
            return decode_json(data, "the message")
        except PlauditError as exc:
            raise json.JSONDecodeError(exc.message, "", 0) from None

    @staticmethod
    def check_query_string(raw: bytes) -> None:
        try:
            check_query_string(raw)
        except PlauditError as exc:
            raise HTTPException(400, exc.message) from None

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
        # A reviewer link is read on HTTP only: a WebSocket keeps its credential
        # for as long as it is open, and the review page subscribes to nothing.
        link = review_link_secret(header) if isinstance(request, Request) else None
        if link is not None:
            try:
                principal = await authenticate_reviewer_link(
                    services.stores, services.reviewer_links, services.settings, link
                )
            except PlauditError as exc:
                auth_error = exc
        elif header and secret is None:
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
            socket_secret=secret if isinstance(request, WebSocket) else None,
            loaders=Loaders.build(services.stores, principal.project_id if principal else None),
        )

    async def on_ws_connect(self, context: Context) -> ConnectionAck:
        """Authenticate a WebSocket from its connection_init payload."""
        return await accept_connection(context)
