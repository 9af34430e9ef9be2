"""Langfuse's Basic auth (public key as the user, secret key as the password)
against Plaudit's keys: a project's Langfuse-style key pair."""

from __future__ import annotations

import base64

import httpx
from starlette.applications import Starlette

from app.domain.auth import hash_key
from tests.compat.langfuse.helpers import key_pair
from tests.conftest import GraphQLClient, Keys, services

SCORES = "/api/public/v3/scores"


def basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


async def test_a_key_pair_is_issued_and_its_secret_stored_hashed(
    app: Starlette, http: httpx.AsyncClient, gql: GraphQLClient, keys: Keys
) -> None:
    pair = await key_pair(gql)
    assert pair.public_key.startswith("pk-lf-") and pair.secret.startswith("sk-lf-")
    stored = await services(app).stores.api_keys.collection.find_one({"_id": pair.id})
    assert stored is not None
    assert stored["public_key"] == pair.public_key
    assert stored["hash"] == hash_key(pair.secret)
    assert pair.secret not in str(stored)
    listed = await gql.ok("{ apiKeys { id publicKey } }")
    assert {"id": pair.id, "publicKey": pair.public_key} in listed["apiKeys"]
    response = await http.get(SCORES, headers=pair.basic())
    assert response.status_code == 200, response.text
    assert response.json()["data"] == []


async def test_wrong_pairs_are_refused(
    http: httpx.AsyncClient, gql: GraphQLClient, keys: Keys
) -> None:
    pair = await key_pair(gql)
    other = await key_pair(gql)
    cases = {
        "no auth": {},
        "bearer": {"Authorization": f"Bearer {pair.secret}"},
        "another pair's public key": basic(other.public_key, pair.secret),
        "a wrong secret": basic(pair.public_key, pair.secret + "x"),
        "a plain key without a public key": basic(pair.public_key, keys.admin),
        "not base64": {"Authorization": "Basic !!!"},
        "no colon": {"Authorization": "Basic " + base64.b64encode(b"abc").decode()},
    }
    for what, headers in cases.items():
        response = await http.get(SCORES, headers=headers)
        assert response.status_code == 401, (what, response.text)
        assert response.json()["error"] == "unauthenticated", what


async def test_the_pair_has_its_role_and_can_be_revoked(
    http: httpx.AsyncClient, gql: GraphQLClient
) -> None:
    reader = await key_pair(gql, "READ")
    response = await http.post(
        "/api/public/scores",
        json={"traceId": "a" * 32, "name": "n", "value": 1},
        headers=reader.basic(),
    )
    assert response.status_code == 403, response.text
    assert (await http.get(SCORES, headers=reader.basic())).status_code == 200
    await gql.ok("mutation($id: ID!) { revokeApiKey(id: $id) { id } }", {"id": reader.id})
    response = await http.get(SCORES, headers=reader.basic())
    assert response.status_code == 401
    assert "revoked" in response.json()["message"]
    # The secret half is an ordinary key too (Bearer, e.g. for GraphQL).
    admin = await key_pair(gql)
    assert (await gql.as_key(admin.secret).ok("{ apiKeys { id } }"))["apiKeys"]
