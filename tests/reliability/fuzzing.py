"""Shared by the GraphQL fuzz tests: what every answer must look like, and one
schemathesis run over chosen root fields."""

from __future__ import annotations

from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings

PUBLIC_CODES = {"BAD_REQUEST", "UNAUTHENTICATED", "FORBIDDEN", "NOT_FOUND", "CONFLICT"}


def check_body(response: Any) -> None:
    """No 5xx, and every error public (a masked bug would say INTERNAL_SERVER_ERROR)."""
    assert response.status_code < 500, response.text
    body = response.json()
    for item in body if isinstance(body, list) else [body]:  # a batch's answers
        for error in item.get("errors") or []:
            assert (error.get("extensions") or {}).get("code") in PUBLIC_CODES, error
            assert "Traceback" not in error["message"]


def fuzz_graphql(
    url: str, headers: dict[str, str], *, fields: set[str] | None = None, examples: int = 10
) -> set[str]:
    """Generate `examples` requests for each root field (or only `fields`) from the
    live schema; returns the fields exercised."""
    schema = schemathesis.graphql.from_url(f"{url}/graphql", headers=headers)
    operations = [
        op
        for op in (result.ok() for result in schema.get_all_operations())
        if fields is None or op.definition.field_name in fields
    ]
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=examples,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        def check(case: Any) -> None:
            check_body(case.call(headers=headers))

        check()
    return {op.definition.field_name for op in operations}
