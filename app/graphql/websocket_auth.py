"""Authenticating a GraphQL WebSocket (graphql-transport-ws).

Browsers cannot set headers on a WebSocket, so the API key comes in the
connection_init payload: ``{"Authorization": "Bearer <key>"}``. A connection with
no valid key (in the payload or the upgrade request's header) is refused with
close code 4403, as the protocol prescribes.

The key is checked again, through the same cache as HTTP, for every operation and
every result sent on the socket, and every RECHECK_SECONDS while it is open (see
app/graphql/websocket_handler.py). A key revoked, or whose role or project
changed, loses its socket: closed with 4403 and a reason saying which."""

from __future__ import annotations

from dataclasses import dataclass

from strawberry.exceptions import ConnectionRejectionError
from strawberry.types.unset import UNSET, UnsetType

from app.domain.auth import authenticate, bearer_secret
from app.errors import PlauditError
from app.graphql.context import Context
from app.graphql.loaders import Loaders
from app.store.errors import DatabaseError

# What on_ws_connect returns: UNSET acknowledges with no payload.
ConnectionAck = UnsetType | dict[str, object] | None
ACK: UnsetType = UNSET

# How often an open socket's key is checked when nothing else checks it. The
# check is a cache hit (no database round trip) except once per cache lifetime.
RECHECK_SECONDS = 1.0


@dataclass(frozen=True)
class SocketClose:
    """Why a socket loses its key: the close code and reason the client sees."""

    code: int
    reason: str


# Revoked, or gone from the database.
KEY_REVOKED = SocketClose(4403, "API key revoked")
# Its role or project is no longer the one the socket was opened with: the key
# may connect again and has its current role and project.
KEY_CHANGED = SocketClose(4403, "API key changed: reconnect")
# The database did not answer the lookup: nothing more is delivered unchecked.
KEY_UNCHECKED = SocketClose(1013, "API key could not be checked: reconnect later")


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
    context.socket_secret = secret
    context.loaders = Loaders.build(services.stores, principal.project_id)
    return ACK


async def recheck_key(context: Context) -> SocketClose | None:
    """None while the socket's key is still the one it was opened with; else why
    the socket must close."""
    if context.socket_secret is None or context.principal is None:
        return KEY_REVOKED
    services = context.services
    try:
        principal = await authenticate(services.stores, services.key_cache, context.socket_secret)
    except PlauditError:
        return KEY_REVOKED
    except DatabaseError:
        return KEY_UNCHECKED
    return None if principal == context.principal else KEY_CHANGED
