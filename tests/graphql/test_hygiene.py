"""Schema-wide rules: the committed schema is current, every root field is guarded,
errors are public or masked, and the security limits hold."""

from __future__ import annotations

from pathlib import Path

from strawberry.printer import print_schema

from app.graphql.permissions import _Grant
from app.graphql.schema import schema
from tests.conftest import GraphQLClient

ROOT = Path(__file__).resolve().parents[2]


def test_schema_file_is_current() -> None:
    committed = (ROOT / "schema.graphql").read_text()
    assert print_schema(schema) + "\n" == committed, "schema.graphql is stale: run `make schema`"


def test_every_root_field_declares_a_permission() -> None:
    unguarded = []
    for type_name in ("Query", "Mutation", "Subscription"):
        definition = schema.get_type_by_name(type_name)
        if definition is None:
            continue
        for field in definition.fields:  # type: ignore[union-attr]
            classes = getattr(field, "permission_classes", None) or []
            if not any(issubclass(c, _Grant) for c in classes):
                unguarded.append(f"{type_name}.{field.name}")
    assert unguarded == []


async def test_no_key_is_unauthenticated(gql: GraphQLClient) -> None:
    error = await gql.as_key(None).error("{ project { name } }")
    assert error["extensions"]["code"] == "UNAUTHENTICATED"


async def test_unknown_key_is_unauthenticated(gql: GraphQLClient) -> None:
    error = await gql.as_key("plaudit_not-a-real-key").error("{ project { name } }")
    assert error["extensions"]["code"] == "UNAUTHENTICATED"
    assert error["message"] == "invalid API key"


async def test_malformed_authorization_header(gql: GraphQLClient) -> None:
    response = await gql.http.post(
        "/graphql", json={"query": "{ project { name } }"}, headers={"Authorization": "Basic abc"}
    )
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "UNAUTHENTICATED"
    assert "Bearer" in error["message"]


async def test_read_key_cannot_mutate(gql: GraphQLClient, keys) -> None:  # type: ignore[no-untyped-def]
    error = await gql.as_key(keys.read).error(
        'mutation { createFeedback(input: {runId: "6b5a3c52-5b0e-4a25-9c4b-c6a9a8f0f2a1", '
        'key: "x", score: 1}) { id } }'
    )
    assert error["extensions"]["code"] == "FORBIDDEN"


async def test_ingest_key_cannot_manage_keys(gql: GraphQLClient, keys) -> None:  # type: ignore[no-untyped-def]
    error = await gql.as_key(keys.ingest).error("mutation { createApiKey(role: READ) { secret } }")
    assert error["extensions"]["code"] == "FORBIDDEN"


async def test_syntax_error_is_bad_request(gql: GraphQLClient) -> None:
    error = await gql.error("{ project { name }")
    assert error["extensions"]["code"] == "BAD_REQUEST"


async def test_unknown_field_is_bad_request(gql: GraphQLClient) -> None:
    error = await gql.error("{ project { nope } }")
    assert error["extensions"]["code"] == "BAD_REQUEST"
    assert "nope" in error["message"]


async def test_wrong_variable_type_is_bad_request(gql: GraphQLClient) -> None:
    error = await gql.error("query($id: ID!) { run(id: $id) { id } }", {"id": {"$gt": ""}})
    assert error["extensions"]["code"] == "BAD_REQUEST"


async def test_invalid_score_variable_is_bad_request(gql: GraphQLClient) -> None:
    error = await gql.error(
        "mutation($input: FeedbackInput!) { createFeedback(input: $input) { id } }",
        {"input": {"runId": "6b5a3c52-5b0e-4a25-9c4b-c6a9a8f0f2a1", "key": "k", "score": "high"}},
    )
    assert error["extensions"]["code"] == "BAD_REQUEST"
    assert "Score" in error["message"]


async def test_depth_limit(gql: GraphQLClient) -> None:
    nested = "feedback { run { " * 4 + "id" + " } }" * 4
    deep = "{ runs { edges { node { " + nested + " } } } }"
    # Twice: the second answer comes from the cache of validated documents.
    for _ in range(2):
        error = await gql.error(deep)
        assert error["extensions"]["code"] == "BAD_REQUEST"
        assert "depth" in error["message"]


async def test_alias_limit(gql: GraphQLClient) -> None:
    aliases = " ".join(f"a{i}: project {{ name }}" for i in range(40))
    for _ in range(2):
        error = await gql.error("{ " + aliases + " }")
        assert error["extensions"]["code"] == "BAD_REQUEST"
        assert "aliases" in error["message"]


async def test_token_limit(gql: GraphQLClient) -> None:
    fields = " ".join("name" for _ in range(6000))
    for _ in range(2):
        error = await gql.error("{ project { " + fields + " } }")
        assert error["extensions"]["code"] == "BAD_REQUEST"
        assert "token" in error["message"].lower()


async def test_malformed_json_body(gql: GraphQLClient) -> None:
    response = await gql.http.post(
        "/graphql",
        content=b'{"query": ',
        headers={"Authorization": f"Bearer {gql.key}", "Content-Type": "application/json"},
    )
    assert 400 <= response.status_code < 500
