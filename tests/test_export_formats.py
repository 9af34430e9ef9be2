"""Each export format, line by line, through GET /export/FORMAT."""

from __future__ import annotations

import json
from typing import Any

import httpx

from tests.conftest import GraphQLClient, Keys
from tests.export_dataset import CHAT, Dataset, build, expected_dpo, expected_sft


async def download(
    http: httpx.AsyncClient, api_key: str, fmt: str, **params: Any
) -> list[dict[str, Any]]:
    response = await http.get(
        f"/export/{fmt}", params=params, headers={"Authorization": f"Bearer {api_key}"}
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/x-ndjson")
    assert "attachment" in response.headers["content-disposition"]
    body = response.content.decode("utf-8")
    assert body == "" or body.endswith("\n")
    lines = body.splitlines()
    # One JSON object a line, nothing else.
    return [json.loads(line) for line in lines]


async def test_dpo(http: httpx.AsyncClient, gql: GraphQLClient, keys: Keys) -> None:
    ds = await build(gql)
    lines = await download(http, keys.read, "dpo")
    expected = expected_dpo(ds)
    assert len(lines) == len(expected)
    for got, want in zip(lines, expected, strict=True):
        assert got == want
    # Sources narrow it; key narrows the keyed sources (edits carry no key).
    only_edits = await download(http, keys.read, "dpo", sources="edits")
    assert only_edits == [expected[1]]
    prefs_and_feedback = await download(http, keys.read, "dpo", sources="feedback,preferences")
    assert prefs_and_feedback == [expected[0], *expected[2:]]
    helpful = await download(http, keys.read, "dpo", key="helpful")
    assert helpful == [expected[0], expected[1], expected[2]]
    assert await download(http, keys.read, "dpo", since="2999-01-01") == []


async def test_dpo_pairs_per_prompt(
    http: httpx.AsyncClient, gql: GraphQLClient, keys: Keys
) -> None:
    from tests.export_dataset import FEEDBACK
    from tests.task_helpers import ingest

    inputs = {"q": "same"}
    runs = await ingest(gql, *[{"inputs": inputs, "outputs": f"out{i}"} for i in range(5)])
    # Two good (3 better than 2) and three bad (-3 worst).
    for run, score in zip(runs, [2, 3, -1, -3, 0], strict=True):
        await gql.ok(FEEDBACK, {"input": {"runId": run, "key": "stars", "score": score}})
    lines = await download(http, keys.read, "dpo", sources="feedback")
    pairs = [(line["chosen"], line["rejected"]) for line in lines]
    # Positives best first: out1 (3), out0 (2); negatives worst first: out3 (-3),
    # out2 (-1), out4 (0). Pairs walk the diagonals (0,0), (0,1), (1,0), (0,2)...
    assert pairs == [
        ("out1", "out3"),
        ("out1", "out2"),
        ("out0", "out3"),
        ("out1", "out4"),
        ("out0", "out2"),
        ("out0", "out4"),
    ]
    capped = await download(http, keys.read, "dpo", sources="feedback", max_pairs_per_prompt=2)
    assert [(line["chosen"], line["rejected"]) for line in capped] == pairs[:2]
    assert all(line["prompt"] == "same" for line in lines)


async def test_sft(http: httpx.AsyncClient, gql: GraphQLClient, keys: Keys) -> None:
    ds = await build(gql)
    lines = await download(http, keys.read, "sft")
    expected = expected_sft(ds)
    assert len(lines) == 3
    for got, want in zip(lines, expected, strict=True):
        assert got == want
    assert await download(http, keys.read, "sft", sources="edits") == [expected[2]]
    assert await download(http, keys.read, "sft", sources="corrections") == expected[:2]


async def test_feedback(http: httpx.AsyncClient, gql: GraphQLClient, keys: Keys) -> None:
    ds = await build(gql)
    lines = await download(http, keys.read, "feedback")
    assert len(lines) == len(ds.feedback)
    by_id = {fid["id"]: label for label, fid in ds.feedback.items()}
    seen = set()
    for line in lines:
        assert set(line) == {"feedback", "run"}
        fb, run = line["feedback"], line["run"]
        label = by_id[fb["id"]]
        seen.add(label)
        run_name, part = label.split(".")
        assert fb["run_id"] == ds.runs[run_name] == run["id"]
        assert fb["key"] == {"correction": "correctness"}.get(part, part)
        assert fb["created_at"] == ds.feedback[label]["createdAt"]
        assert set(run) >= {"inputs", "outputs", "name", "tags", "start_time"}
    assert seen == set(ds.feedback)
    # Oldest first.
    assert [line["feedback"]["created_at"] for line in lines] == sorted(
        line["feedback"]["created_at"] for line in lines
    )
    first = lines[0]
    assert first["feedback"] == {
        "id": ds.feedback["r1.helpful"]["id"],
        "run_id": ds.runs["r1"],
        "key": "helpful",
        "score": True,
        "value": None,
        "comment": None,
        "correction": None,
        "source_type": "api",
        "source_info": None,
        "user_id": "ann",
        "retracted": False,
        "created_at": ds.feedback["r1.helpful"]["createdAt"],
        "modified_at": ds.feedback["r1.helpful"]["createdAt"],
    }
    assert first["run"]["inputs"] == {"question": "Capital of France?"}
    assert first["run"]["outputs"] == {"answer": "Paris"}
    quality = await download(http, keys.read, "feedback", key="quality")
    assert sorted(line["feedback"]["score"] for line in quality) == [2, 5, 8]


def _regression(
    ds: Dataset, mode: Any, run: str, negative: list[tuple[str, float, list[str]]], group_by: Any
) -> dict[str, Any]:
    inputs = {
        "r2": {"question": "Capital of France?"},
        "r4": CHAT,
    }[run]
    outputs = {"r2": {"answer": "Lyon"}, "r4": {"role": "assistant", "content": "Go away"}}[run]
    return {
        "error_mode": mode,
        "run_id": ds.runs[run],
        "prompt": "Capital of France?" if run == "r2" else CHAT["messages"],
        "inputs": inputs,
        "outputs": outputs,
        "negative": [{"key": k, "mean_score": s, "comments": c} for k, s, c in negative],
        "meta": {
            "group_by": group_by,
            "name": "qa" if run == "r2" else "chat",
            "model": None,
            "tags": [],
            "start_time": {"r2": "2025-03-01T12:01:00+00:00", "r4": "2025-03-01T12:03:00+00:00"}[
                run
            ],
        },
    }


async def test_regressions(http: httpx.AsyncClient, gql: GraphQLClient, keys: Keys) -> None:
    ds = await build(gql)
    r2_verdicts = [("helpful", 0.0, ["wrong"]), ("thumbs", -1.0, [])]
    r4_verdicts = [("quality", 2.0, ["rude"]), ("toxicity", 0.9, [])]

    # Grouped by a categorical key: its labels name the groups, its scores are no verdict.
    lines = await download(http, keys.read, "regressions", group_by="error_kind")
    assert lines == [
        _regression(ds, "format", "r4", r4_verdicts, "error_kind"),
        _regression(ds, "hallucination", "r2", r2_verdicts, "error_kind"),
    ]

    # Grouped by a task field: a run with two different answers is in both groups.
    lines = await download(http, keys.read, "regressions", group_by="Review.Failure")
    r2_all = [("error_kind", 1.0, []), *r2_verdicts]
    assert lines == [
        _regression(ds, "rude", "r4", r4_verdicts, "Review.Failure"),
        _regression(ds, "wrong fact", "r2", r2_all, "Review.Failure"),
        _regression(ds, "wrong fact", "r4", r4_verdicts, "Review.Failure"),
    ]

    # No grouping: every negative run once, by start time.
    lines = await download(http, keys.read, "regressions")
    assert lines == [
        _regression(ds, None, "r2", r2_all, None),
        _regression(ds, None, "r4", r4_verdicts, None),
    ]
    lines = await download(http, keys.read, "regressions", key="toxicity")
    assert [(line["run_id"], line["negative"][0]["key"]) for line in lines] == [
        (ds.runs["r4"], "toxicity")
    ]


async def test_bad_requests(http: httpx.AsyncClient, gql: GraphQLClient, keys: Keys) -> None:
    auth = {"Authorization": f"Bearer {keys.read}"}
    cases = [
        ("/export/parquet", 404, "unknown export format"),
        ("/export/dpo?since=yesterday", 400, "since"),
        ("/export/dpo?sources=preferences,vibes", 400, "sources"),
        ("/export/feedback?sources=edits", 400, "takes no sources"),
        ("/export/dpo?group_by=x", 400, "regressions"),
        ("/export/dpo?max_pairs_per_prompt=0", 400, "max_pairs_per_prompt"),
        ("/export/regressions?group_by=nothing.here", 400, "neither a feedback key"),
        ("/export/feedback?limit=5", 400, "unknown query parameter"),
    ]
    for url, status, message in cases:
        response = await http.get(url, headers=auth)
        assert response.status_code == status, (url, response.text)
        body = response.json()
        assert message in body["message"], (url, body)
        assert body["error"] in ("bad_request", "not_found")

    response = await http.get("/export/feedback")
    assert response.status_code == 401
    assert response.json()["error"] == "unauthenticated"
    response = await http.get("/export/feedback", headers={"Authorization": "Bearer nope"})
    assert response.status_code == 401
    response = await http.get(
        "/export/feedback", headers={"Authorization": f"Bearer {keys.ingest}"}
    )
    assert response.status_code == 403
    assert response.json()["error"] == "forbidden"
    response = await http.get("/export/feedback", headers={"Authorization": f"Bearer {keys.admin}"})
    assert response.status_code == 200
