"""Email links over HTTP: GET/HEAD never record; the form's POST does."""

from __future__ import annotations

import re
from typing import Any

import httpx

from tests.conftest import GraphQLClient
from tests.public.helpers import feedback_on, issue, make_run


def snapshot(sync_db: Any) -> dict[str, list[dict[str, Any]]]:
    """Every document in the test database."""
    return {
        name: sorted(sync_db[name].find({}), key=lambda d: str(d["_id"]))
        for name in sorted(sync_db.list_collection_names())
    }


def checked_value(html: str) -> str | None:
    match = re.search(r'name="score" value="([^"]+)" checked', html)
    return match.group(1) if match else None


async def test_get_and_head_change_nothing(
    http: httpx.AsyncClient, gql: GraphQLClient, sync_db: Any
) -> None:
    run_id = await make_run(gql)
    token = (await issue(gql, run_id, maxUses=1))["token"]
    before = snapshot(sync_db)
    for _ in range(3):  # a mail scanner opening both links, several times
        for score in ("1", "0"):
            page = await http.get(f"/f/{token}", params={"score": score})
            assert page.status_code == 200
            assert checked_value(page.text) == score
            head = await http.head(f"/f/{token}", params={"score": score})
            assert head.status_code == 200 and head.content == b""
    assert snapshot(sync_db) == before
    assert await feedback_on(gql, run_id) == []
    assert before["feedback_tokens"][0]["uses"] == 0


async def test_page_is_safe_and_private(http: httpx.AsyncClient, gql: GraphQLClient) -> None:
    await gql.ok(
        """mutation { registerFeedbackKey(input: {key: "helpful", kind: BOOLEAN,
           description: "<script>alert(1)</script> Did it help?"}) { key } }"""
    )
    run_id = await make_run(gql)
    token = (await issue(gql, run_id))["token"]
    page = await http.get(f"/f/{token}", params={"score": '1"><script>x()</script>'})
    assert page.status_code == 200
    assert "<script>" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Did it help?" in page.text
    assert checked_value(page.text) is None  # a mangled score preselects nothing
    # Not no-referrer: with it a browser posts the page's own form with Origin: null,
    # which is refused. same-origin sends no referrer to any other site.
    assert page.headers["referrer-policy"] == "same-origin"
    assert page.headers["cache-control"] == "no-store"
    assert "script-src" not in page.headers["content-security-policy"]  # none allowed
    assert f'action="/f/{token}"' in page.text


async def test_post_records_and_confirms(http: httpx.AsyncClient, gql: GraphQLClient) -> None:
    run_id = await make_run(gql)
    token = (await issue(gql, run_id))["token"]
    response = await http.post(f"/f/{token}", data={"score": "1", "comment": "  <b>great</b> "})
    assert response.status_code == 200
    assert "your answer was recorded" in response.text
    assert checked_value(response.text) == "1"
    assert "&lt;b&gt;great&lt;/b&gt;</textarea>" in response.text
    changed = await http.post(f"/f/{token}", data={"score": "0", "comment": "<b>great</b>"})
    assert checked_value(changed.text) == "0"
    [record] = await feedback_on(gql, run_id)
    assert record["score"] == 0 and record["comment"] == "<b>great</b>"
    assert record["sourceType"] == "EMAIL"
    assert {h["via"] for h in record["history"]} == {"email"}


async def test_categorical_keys_offer_their_categories(
    http: httpx.AsyncClient, gql: GraphQLClient
) -> None:
    await gql.ok(
        """mutation { registerFeedbackKey(input: {key: "tone", kind: CATEGORICAL,
           categories: [{value: 1, label: "warm"}, {value: 2, label: "cold"}]}) { key } }"""
    )
    run_id = await make_run(gql)
    token = (await issue(gql, run_id, key="tone"))["token"]
    page = await http.get(f"/f/{token}", params={"score": "2"})
    assert re.findall(r'value="(\d)"', page.text) == ["1", "2"]
    assert checked_value(page.text) == "2" and "cold" in page.text
    refused = await http.post(f"/f/{token}", data={"score": "3"})
    assert refused.status_code == 422 and "warm" in refused.text
    assert refused.headers["content-type"].startswith("text/html")


async def test_a_scale_key_every_link_and_the_tokens_prompt(
    http: httpx.AsyncClient, gql: GraphQLClient
) -> None:
    await gql.ok(
        """mutation { registerFeedbackKey(input: {key: "stars", kind: CONTINUOUS, min: 1,
           max: 5, description: "The key's question"}) { key } }"""
    )
    run_id = await make_run(gql)
    links = (
        await gql.ok(
            """mutation($input: FeedbackTokenInput!) {
                 createEmailFeedbackLinks(input: $input) { choices { score url } } }""",
            {"input": {"runId": run_id, "key": "stars", "prompt": "Rate the answer"}},
        )
    )["createEmailFeedbackLinks"]["choices"]
    for choice in links:  # each link opens the page with its own answer chosen
        page = await http.get(choice["url"])
        assert re.findall(r'name="score" value="(\d)"', page.text) == ["1", "2", "3", "4", "5"]
        assert checked_value(page.text) == f"{choice['score']:g}"
        assert "<h1>Rate the answer</h1>" in page.text and "The key's question" not in page.text
    token = links[0]["url"].split("/f/", 1)[1].split("?", 1)[0]
    done = await http.post(f"/f/{token}", data={"score": "4"})
    assert "your answer was recorded: <strong>4</strong>" in done.text
    [record] = await feedback_on(gql, run_id)
    assert record["score"] == 4 and record["sourceType"] == "EMAIL"


async def test_a_freeform_key_asks_for_words_only(
    http: httpx.AsyncClient, gql: GraphQLClient
) -> None:
    await gql.ok(
        """mutation { registerFeedbackKey(input: {key: "notes", kind: FREEFORM,
           description: "What should we change?"}) { key } }"""
    )
    token = (await issue(gql, await make_run(gql), key="notes"))["token"]
    page = await http.get(f"/f/{token}")
    assert 'name="score"' not in page.text and "<h1>What should we change?</h1>" in page.text
    done = await http.post(f"/f/{token}", data={"comment": "Shorter answers"})
    assert done.status_code == 200 and "Shorter answers</textarea>" in done.text


async def test_error_pages(
    http: httpx.AsyncClient, gql: GraphQLClient, sync_db: Any, keys: Any
) -> None:
    run_id = await make_run(gql)
    issued = await issue(gql, run_id, maxUses=1)
    token = issued["token"]
    bad = await http.get(f"/f/{token[:-3]}abc")
    assert bad.status_code == 401 and "not valid" in bad.text
    assert bad.headers["content-type"].startswith("text/html")
    assert (await http.post(f"/f/{token[:-3]}abc", data={"score": "1"})).status_code == 401
    assert (await http.post(f"/f/{token}", data={"score": "x"})).status_code == 400
    assert (await http.post(f"/f/{token}", data={"score": "1"})).status_code == 200
    used = await http.post(f"/f/{token}", data={"score": "0"})
    assert used.status_code == 409 and "used up" in used.text
    assert (await http.get(f"/f/{token}")).status_code == 409
    await gql.ok(
        "mutation($id: ID!) { revokeFeedbackToken(id: $id) { id } }",
        {"id": issued["feedbackToken"]["id"]},
    )
    assert (await http.get(f"/f/{token}")).status_code == 403
    other = await issue(gql, run_id, key="other")
    sync_db.feedback_tokens.delete_one({"_id": other["feedbackToken"]["id"]})
    gone = await http.get(f"/f/{other['token']}")
    assert gone.status_code == 410 and "expired" in gone.text
    fresh = (await issue(gql, run_id, key="fresh"))["token"]
    too_many = await http.post(
        f"/f/{fresh}",
        content=b"&".join(b"f%d=1" % i for i in range(20)),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert too_many.status_code == 400 and "too many fields" in too_many.text
    too_big = await http.post(f"/f/{fresh}", data={"score": "1", "comment": "z" * 20_000})
    assert too_big.status_code == 413
