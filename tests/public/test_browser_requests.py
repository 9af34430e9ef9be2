"""A browser request never gets round the origin rules.

- ``Origin: null`` (a sandboxed iframe, a ``data:`` URL, a page whose referrer
  policy hides its origin) names no site, so it is on no allow-list: refused like
  any unlisted origin, on every public write route.
- The public JSON routes take only ``application/json``: a "simple" content type
  (``text/plain``, a form, none at all) would let any page post without the CORS
  preflight, which is where origins are checked before the browser sends anything.
- No Origin at all is a client that is not a browser (curl, a server): it passes,
  as before."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conftest import GraphQLClient
from tests.public.helpers import feedback_on, issue, make_run
from tests.public.test_public_feedback import ALLOWED, assert_error

ROUTES = ("/public/feedback", "/public/signals")


def body_for(route: str, token: str) -> dict[str, Any]:
    if route == "/public/feedback":
        return {"token": token, "score": 1}
    return {"token": token, "kind": "copy"}


async def allow(gql: GraphQLClient, *origins: str) -> None:
    await gql.ok(
        "mutation($o: [String!]) { updateProject(input: {allowedOrigins: $o}) { id } }",
        {"o": list(origins)},
    )


async def signals(gql: GraphQLClient) -> list[Any]:
    data = await gql.ok("{ signals { nodes { kind } } }")
    nodes: list[Any] = data["signals"]["nodes"]
    return nodes


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("listed", [True, False], ids=["allow-list", "no-allow-list"])
async def test_a_null_origin_is_refused(
    http: httpx.AsyncClient, gql: GraphQLClient, route: str, listed: bool
) -> None:
    if listed:
        await allow(gql, ALLOWED)
    run_id = await make_run(gql)
    token = (await issue(gql, run_id))["token"]
    refused = await http.post(route, json=body_for(route, token), headers={"origin": "null"})
    body = assert_error(refused, 403, "origin_not_allowed")
    assert "null origins are not allowed" in body["message"]
    assert "access-control-allow-origin" not in refused.headers
    assert await feedback_on(gql, run_id) == [] and await signals(gql) == []
    # The same request without an Origin (not a browser) goes through.
    assert (await http.post(route, json=body_for(route, token))).status_code == 200


async def test_a_null_origin_is_refused_even_when_the_token_lists_origins(
    http: httpx.AsyncClient, gql: GraphQLClient
) -> None:
    run_id = await make_run(gql)
    token = (await issue(gql, run_id, allowedOrigins=[ALLOWED]))["token"]
    refused = await http.post(
        "/public/feedback", json={"token": token, "score": 1}, headers={"origin": "NULL"}
    )
    assert_error(refused, 403, "origin_not_allowed")
    ok = await http.post(
        "/public/feedback", json={"token": token, "score": 1}, headers={"origin": ALLOWED}
    )
    assert ok.status_code == 200 and ok.headers["access-control-allow-origin"] == ALLOWED


async def test_a_null_origin_preflight_is_refused(
    http: httpx.AsyncClient, gql: GraphQLClient
) -> None:
    await allow(gql, ALLOWED)
    for route in ROUTES:
        refused = await http.options(
            route,
            headers={"origin": "null", "access-control-request-method": "POST"},
        )
        assert refused.status_code == 403
        assert "access-control-allow-origin" not in refused.headers


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "text/plain;charset=UTF-8",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        None,
        "application/jsonx",
    ],
)
async def test_only_json_is_accepted(
    http: httpx.AsyncClient,
    gql: GraphQLClient,
    route: str,
    content_type: str | None,
) -> None:
    run_id = await make_run(gql)
    token = (await issue(gql, run_id))["token"]
    request = http.build_request("POST", route, json=body_for(route, token))
    if content_type is None:
        del request.headers["content-type"]
    else:
        request.headers["content-type"] = content_type
    refused = await http.send(request)
    body = assert_error(refused, 415, "unsupported_media_type")
    assert "application/json" in body["message"]
    assert await feedback_on(gql, run_id) == [] and await signals(gql) == []


@pytest.mark.parametrize("content_type", ["application/json; charset=utf-8", "Application/JSON"])
async def test_json_with_parameters_or_any_case_is_accepted(
    http: httpx.AsyncClient, gql: GraphQLClient, content_type: str
) -> None:
    run_id = await make_run(gql)
    token = (await issue(gql, run_id))["token"]
    for route in ROUTES:
        request = http.build_request("POST", route, json=body_for(route, token))
        request.headers["content-type"] = content_type
        response = await http.send(request)
        assert response.status_code == 200, response.text


async def test_the_email_form_refuses_a_null_origin(
    http: httpx.AsyncClient, gql: GraphQLClient
) -> None:
    """The email page is this server's own: its form posts with the server's origin.
    A page elsewhere that posts a form to the link with ``Origin: null`` (a
    sandboxed iframe, or its own ``Referrer-Policy: no-referrer``) is refused."""
    run_id = await make_run(gql)
    token = (await issue(gql, run_id))["token"]
    refused = await http.post(f"/f/{token}", data={"score": "1"}, headers={"origin": "null"})
    assert refused.status_code == 403
    assert "null origins are not allowed" in refused.text
    assert await feedback_on(gql, run_id) == []
    own = await http.post(
        f"/f/{token}", data={"score": "1"}, headers={"origin": "http://testserver"}
    )
    assert own.status_code == 200
    assert [f["score"] for f in await feedback_on(gql, run_id)] == [1]
