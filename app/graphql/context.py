"""The typed per-request context: who is calling, the stores, the DataLoaders."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket

from app.domain.auth import Principal
from app.errors import PlauditError, Unauthenticated
from app.settings import Settings
from app.store import Stores

if TYPE_CHECKING:
    from app.graphql.loaders import Loaders
    from app.services import Services


@dataclass
class Context:
    request: Request | WebSocket
    response: Response | WebSocket | None
    services: Services
    principal: Principal | None
    auth_error: PlauditError | None
    loaders: Loaders
    extra: dict[str, Any] = field(default_factory=dict)
    # The graphql-transport-ws connection_init payload (set by Strawberry).
    connection_params: dict[str, Any] | None = None
    # A WebSocket's API key, checked again for every operation on the socket.
    socket_secret: str | None = field(default=None, repr=False)

    @property
    def stores(self) -> Stores:
        return self.services.stores

    @property
    def settings(self) -> Settings:
        return self.services.settings

    def require(self, grant: str) -> Principal:
        if self.principal is None:
            raise self.auth_error or Unauthenticated(
                "missing API key: send Authorization: Bearer <key>"
            )
        self.principal.require(grant)
        return self.principal

    @property
    def project_id(self) -> str:
        return self.require_any().project_id

    def require_any(self) -> Principal:
        if self.principal is None:
            raise self.auth_error or Unauthenticated("missing API key")
        return self.principal
