"""Langfuse-style key pairs for the tests, made as an admin makes them (GraphQL)."""

from __future__ import annotations

import base64
from dataclasses import dataclass

from tests.conftest import GraphQLClient

CREATE = """mutation($role: Role!) { createApiKey(role: $role, name: "lf", langfuse: true) {
  apiKey { id publicKey prefix } secret } }"""


@dataclass
class Pair:
    id: str
    public_key: str
    secret: str

    def basic(self) -> dict[str, str]:
        token = base64.b64encode(f"{self.public_key}:{self.secret}".encode()).decode()
        return {"Authorization": f"Basic {token}"}


async def key_pair(gql: GraphQLClient, role: str = "ADMIN") -> Pair:
    created = (await gql.ok(CREATE, {"role": role}))["createApiKey"]
    return Pair(created["apiKey"]["id"], created["apiKey"]["publicKey"], created["secret"])
