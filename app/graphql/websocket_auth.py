"""Authenticating a GraphQL WebSocket (graphql-transport-ws).

Browsers cannot set headers on a WebSocket, so the API key comes in the
connection_init payload: ``{"Authorization": "Bearer <key>"}``. A connection with
no valid key (in the payload or the upgrade request's header) is refused with
close code 4403, as the protocol prescribes."""

from __future__ import annotations

from strawberry.exceptions import ConnectionRejectionError
from strawberry.types.unset import UNSET, UnsetType

from app.domain.auth import authenticate, bearer_secret
from app.errors import PlauditError
from app.graphql.context import Context
from app.graphql.loaders import Loaders

# What on_ws_connect returns: UNSET acknowledges with no payload.
ConnectionAck = UnsetType | dict[str, object] | None
ACK: UnsetType = UNSET


async def accept_connection(context: Context) -> ConnectionAck:
    params = context.connection_params or {}
    header = params.get("Authorization", params.get("authorization"))
    if header is None:
        if context.principal is None:
            raise ConnectionRejectionError({"message": "missing API key"})
        return ACK
    secret = bearer_secret(header) if isinstance(header, str) else None
    if secret is None:
        raise ConnectionRejectionError({"message": "Authorization must be: Bearer <API key>"})
    services = context.services
    try:
        principal = await authenticate(services.stores, services.key_cache, secret)
    except PlauditError as exc:
        raise ConnectionRejectionError({"message": exc.message}) from None
    context.principal = principal
    context.auth_error = None
    context.loaders = Loaders.build(services.stores, principal.project_id)
    return ACK
