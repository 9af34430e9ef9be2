"""feedbackStats on small hand-computed data: every statistic, both sources
(rollups and aggregation), every grouping, filters, errors and isolation."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from starlette.applications import Starlette

from app.domain.feedback import FeedbackWrite, create_feedback, delete_feedback
from app.domain.feedback_keys import KeyConfig, register_key
from tests.conftest import GraphQLClient, Keys
from tests.pipelines_support import CHANGE, give, make_runs, services, written_at

STATS = """
query($filter: FeedbackStatsFilter, $groupBy: [StatsGroupBy!], $comments: Int! = 3) {
  feedbackStats(filter: $filter, groupBy: $groupBy, comments: $comments) {
    source truncated
    groups {
      key time userId sessionId model tag sourceType metadata
      count scored commented mean min max stddev p50 p90
      positive negative positiveShare negativeShare
      labels { label count }
      distribution { low high count }
      comments { id comment }
    }
  }
}
"""

# Filters that force the aggregation path without changing which feedback counts.
ALL_SOURCES = ["API", "MODEL", "APP", "WIDGET", "EMAIL", "HUMAN"]


async def stats(
    gql: GraphQLClient, filter: dict[str, Any] | None = None, group_by: list[Any] | None = None
) -> dict[str, Any]:
    data = await gql.ok(STATS, {"filter": filter, "groupBy": group_by})
    result: dict[str, Any] = data["feedbackStats"]
    return result


async def both(
    gql: GraphQLClient, filter: dict[str, Any], group_by: list[Any] | None = None
) -> dict[str, Any]:
    """The same statistics from rollups and from an aggregation; they must agree."""
    rolled = await stats(gql, filter, group_by)
    aggregated = await stats(gql, {**filter, "sourceTypes": ALL_SOURCES}, group_by)
    assert rolled["source"] == "ROLLUPS"
    assert aggregated["source"] == "AGGREGATION"
    for a, b in zip(rolled["groups"], aggregated["groups"], strict=True):
        for name, value in a.items():
            if isinstance(value, float):
                assert b[name] == pytest.approx(value), name
            else:
                assert b[name] == value, name
    return rolled


async def register(app: Starlette, project_id: str, key: str, **config: Any) -> None:
    await register_key(services(app).stores, project_id, key, KeyConfig(**config))


async def test_continuous_key_every_statistic(
    app: Starlette, gql: GraphQLClient, keys: Keys
) -> None:
    await register(app, keys.project_id, "rating", kind="continuous", min=1, max=5)
    runs = await make_runs(app, keys.project_id, 7)
    for run, score in zip(runs, [1, 2, 3, 4, 5, 5], strict=False):
        await give(app, keys.project_id, run, "rating", score)
    await give(app, keys.project_id, runs[6], "rating", comment="no score, just words")

    result = await both(gql, {"keys": ["rating"]})
    [group] = result["groups"]
    assert group["count"] == 7
    assert group["scored"] == 6
    assert group["commented"] == 1
    assert group["mean"] == pytest.approx(20 / 6)
    assert group["min"] == 1 and group["max"] == 5
    # population standard deviation: sqrt(80/6 - (20/6)^2)
    assert group["stddev"] == pytest.approx(math.sqrt(80 / 6 - (20 / 6) ** 2))
    # nearest rank on [1, 2, 3, 4, 5, 5]: p50 is the 3rd value, p90 the 6th
    assert group["p50"] == 3 and group["p90"] == 5
    # threshold: the midpoint of 1..5 is 3; 3 itself is neither side
    assert (group["positive"], group["negative"]) == (3, 2)
    assert group["positiveShare"] == pytest.approx(0.5)
    assert group["negativeShare"] == pytest.approx(2 / 6)
    assert group["labels"] == []
    assert group["distribution"] == [
        {"low": v, "high": v, "count": n} for v, n in [(1, 1), (2, 1), (3, 1), (4, 1), (5, 2)]
    ]
    assert [c["comment"] for c in group["comments"]] == ["no score, just words"]


async def test_lower_is_better_flips_positive_and_negative(
    app: Starlette, gql: GraphQLClient, keys: Keys
) -> None:
    await register(
        app, keys.project_id, "toxicity", kind="continuous", min=0, max=1, higher_is_better=False
    )
    await register(app, keys.project_id, "complaint", kind="boolean", higher_is_better=False)
    runs = await make_runs(app, keys.project_id, 3)
    for run, score in zip(runs, [0.1, 0.2, 0.9], strict=True):
        await give(app, keys.project_id, run, "toxicity", score)
    for run, score in zip(runs, [True, False, False], strict=True):
        await give(app, keys.project_id, run, "complaint", score)

    result = await both(gql, {"keys": ["toxicity", "complaint"]}, [{"dimension": "KEY"}])
    by_key = {g["key"]: g for g in result["groups"]}
    # toxicity: below the midpoint 0.5 is good
    assert (by_key["toxicity"]["positive"], by_key["toxicity"]["negative"]) == (2, 1)
    # complaint: true is bad
    assert (by_key["complaint"]["positive"], by_key["complaint"]["negative"]) == (2, 1)
    assert by_key["complaint"]["labels"] == [
        {"label": "true", "count": 1},
        {"label": "false", "count": 2},
    ]
    assert by_key["complaint"]["mean"] == pytest.approx(1 / 3)


async def test_boolean_categorical_and_unregistered_keys(
    app: Starlette, gql: GraphQLClient, keys: Keys
) -> None:
    await register(app, keys.project_id, "thumbs", kind="boolean")
    await register(
        app,
        keys.project_id,
        "quality",
        kind="categorical",
        categories=[(0, "bad"), (1, "ok"), (2, "good")],
    )
    runs = await make_runs(app, keys.project_id, 4)
    for run, score in zip(runs, [True, True, False], strict=False):
        await give(app, keys.project_id, run, "thumbs", score)
    for run, label in zip(runs, ["good", "good", "ok", "bad"], strict=True):
        await give(app, keys.project_id, run, "quality", value=label)
    for run, score in zip(runs, [-1, 0, 2], strict=False):
        await give(app, keys.project_id, run, "free", score)

    result = await both(gql, {}, [{"dimension": "KEY"}])
    by_key = {g["key"]: g for g in result["groups"]}
    thumbs = by_key["thumbs"]
    assert thumbs["mean"] == pytest.approx(2 / 3)
    assert (thumbs["positive"], thumbs["negative"]) == (2, 1)
    assert thumbs["labels"] == [{"label": "true", "count": 2}, {"label": "false", "count": 1}]
    assert thumbs["p50"] == 1 and thumbs["min"] == 0 and thumbs["max"] == 1

    quality = by_key["quality"]
    assert quality["labels"] == [
        {"label": "bad", "count": 1},
        {"label": "ok", "count": 1},
        {"label": "good", "count": 2},
    ]
    # threshold: midpoint of the category values 0..2 is 1 ("ok" is neither)
    assert (quality["positive"], quality["negative"]) == (2, 1)
    assert quality["mean"] == pytest.approx(5 / 4)

    free = by_key["free"]  # unregistered: above 0 is positive, below 0 negative
    assert (free["positive"], free["negative"]) == (1, 1)
    assert free["p50"] == 0 and free["mean"] == pytest.approx(1 / 3)


async def test_percentiles_of_fine_scores_are_within_one_percent(
    app: Starlette, gql: GraphQLClient, keys: Keys
) -> None:
    scores = [0.123456, 0.5, 0.987654, 0.3333333, 0.7777777]
    runs = await make_runs(app, keys.project_id, len(scores))
    for run, score in zip(runs, scores, strict=True):
        await give(app, keys.project_id, run, "judge", score)
    [group] = (await both(gql, {"keys": ["judge"]}))["groups"]
    ordered = sorted(scores)
    assert group["p50"] == pytest.approx(ordered[2], rel=0.01)
    assert group["p90"] == pytest.approx(ordered[4], rel=0.01)
    assert group["min"] == min(scores) and group["max"] == max(scores)  # exact


async def test_retracted_deleted_and_other_projects_do_not_count(
    app: Starlette, gql: GraphQLClient, keys: Keys, other_keys: Keys
) -> None:
    runs = await make_runs(app, keys.project_id, 3)
    await give(app, keys.project_id, runs[0], "thumbs", True, user_id="u1")
    await give(app, keys.project_id, runs[1], "thumbs", True, user_id="u2")
    gone = await give(app, keys.project_id, runs[2], "thumbs", False, user_id="u3")
    await create_feedback(
        services(app).stores,
        keys.project_id,
        FeedbackWrite(run_id=runs[1], key="thumbs", user_id="u2", retract=True),
        CHANGE,
    )
    await delete_feedback(services(app).stores, keys.project_id, gone.id, CHANGE)
    other_runs = await make_runs(app, other_keys.project_id, 1)
    await give(app, other_keys.project_id, other_runs[0], "thumbs", False)

    [group] = (await both(gql, {"keys": ["thumbs"]}))["groups"]
    assert (group["count"], group["positive"], group["negative"]) == (1, 1, 0)

    theirs = await stats(gql.as_key(other_keys.read), {"keys": ["thumbs"]})
    assert [(g["count"], g["negative"]) for g in theirs["groups"]] == [(1, 1)]


async def test_daily_series_fills_gaps_and_reads_rollups(
    app: Starlette, gql: GraphQLClient, keys: Keys, monkeypatch: pytest.MonkeyPatch
) -> None:
    day = datetime(2025, 3, 3, tzinfo=UTC)  # a Monday
    runs = await make_runs(app, keys.project_id, 4)
    for at, run, score in [
        (day + timedelta(hours=9), runs[0], 1),
        (day + timedelta(hours=20), runs[1], 5),
        (day + timedelta(days=2, hours=3), runs[2], 4),
        (day + timedelta(days=9), runs[3], 2),  # the next week
    ]:
        with written_at(monkeypatch, at):
            await give(app, keys.project_id, run, "rating", score)

    window = {
        "keys": ["rating"],
        "after": day.isoformat(),
        "before": (day + timedelta(days=3)).isoformat(),
    }
    series = await both(gql, window, [{"dimension": "TIME", "bucket": "DAY"}])
    assert [(g["time"][:10], g["count"], g["mean"]) for g in series["groups"]] == [
        ("2025-03-03", 2, 3.0),
        ("2025-03-04", 0, None),
        ("2025-03-05", 1, 4.0),
    ]

    hourly = await stats(
        gql,
        {**window, "before": (day + timedelta(hours=12)).isoformat()},
        [{"dimension": "TIME", "bucket": "HOUR"}],
    )
    assert len(hourly["groups"]) == 12
    assert [g["count"] for g in hourly["groups"]] == [0] * 9 + [1, 0, 0]

    weekly = await both(
        gql,
        {
            "keys": ["rating"],
            "after": day.isoformat(),
            "before": (day + timedelta(days=14)).isoformat(),
        },
        [{"dimension": "TIME", "bucket": "WEEK"}],
    )
    assert [(g["time"][:10], g["count"]) for g in weekly["groups"]] == [
        ("2025-03-03", 3),
        ("2025-03-10", 1),
    ]


async def test_window_edges_inside_hours_and_days(
    app: Starlette, gql: GraphQLClient, keys: Keys, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A window that starts and ends inside hours reads the edges raw, the middle
    from hour and day rollups: every record counts exactly once."""
    base = datetime(2025, 5, 10, 10, tzinfo=UTC)
    offsets = [
        timedelta(minutes=15),  # before the window
        timedelta(minutes=45),
        timedelta(hours=1, minutes=30),
        timedelta(hours=20),
        timedelta(days=1, hours=5),
        timedelta(days=2, minutes=10),
        timedelta(days=2, minutes=50),  # after the window
    ]
    runs = await make_runs(app, keys.project_id, len(offsets))
    for i, (run, offset) in enumerate(zip(runs, offsets, strict=True)):
        with written_at(monkeypatch, base + offset):
            await give(app, keys.project_id, run, "n", i + 1)
    after = base + timedelta(minutes=30)
    before = base + timedelta(days=2, minutes=30)
    window = {"keys": ["n"], "after": after.isoformat(), "before": before.isoformat()}
    [group] = (await both(gql, window))["groups"]
    assert group["count"] == 5
    assert group["mean"] == pytest.approx((2 + 3 + 4 + 5 + 6) / 5)
    assert (group["min"], group["max"]) == (2, 6)
    daily = await both(gql, window, [{"dimension": "TIME", "bucket": "DAY"}])
    # May 10: 10:45, 11:30; May 11: 06:00, 15:00; May 12: 10:10
    assert [g["count"] for g in daily["groups"]] == [2, 2, 1]


async def test_grouping_by_user_source_and_run_fields(
    app: Starlette, gql: GraphQLClient, keys: Keys
) -> None:
    pid = keys.project_id
    a = await make_runs(
        app,
        pid,
        2,
        tags=["beta", "eu"],
        model="gpt-x",
        session_id="s1",
        metadata={"prompt": {"version": "v1"}, "a.b": 1},
    )
    b = await make_runs(
        app,
        pid,
        1,
        tags=["eu"],
        model="gpt-y",
        session_id="s2",
        metadata={"prompt": {"version": "v2"}, "a.b": 2},
    )
    await give(app, pid, a[0], "thumbs", True, user_id="ann", comment="great")
    await give(app, pid, a[1], "thumbs", False, user_id="bob", source_type="widget")
    await give(app, pid, b[0], "thumbs", False, user_id="ann", comment="wrong")

    async def grouped(dimension: dict[str, Any], filter: dict[str, Any] | None = None) -> list[Any]:
        if filter is None and dimension["dimension"] != "METADATA":
            # Grouped rollups, equal to the aggregation.
            return (await both(gql, {"keys": ["thumbs"]}, [dimension]))["groups"]  # type: ignore[no-any-return]
        result = await stats(gql, {"keys": ["thumbs"], **(filter or {})}, [dimension])
        assert result["source"] == "AGGREGATION"
        return result["groups"]

    by_user = await grouped({"dimension": "USER"})
    assert {g["userId"]: (g["count"], g["positive"]) for g in by_user} == {
        "ann": (2, 1),
        "bob": (1, 0),
    }
    by_source = await grouped({"dimension": "SOURCE"})
    assert {g["sourceType"]: g["count"] for g in by_source} == {"api": 2, "widget": 1}
    by_model = await grouped({"dimension": "MODEL"})
    assert {g["model"]: g["mean"] for g in by_model} == {"gpt-x": 0.5, "gpt-y": 0.0}
    by_session = await grouped({"dimension": "SESSION"})
    assert {g["sessionId"]: g["count"] for g in by_session} == {"s1": 2, "s2": 1}
    by_tag = await grouped({"dimension": "TAG"})  # a run counts once per tag
    assert {g["tag"]: g["count"] for g in by_tag} == {"beta": 2, "eu": 3}
    by_version = await grouped({"dimension": "METADATA", "field": "prompt.version"})
    assert {g["metadata"]["prompt.version"]: g["count"] for g in by_version} == {"v1": 2, "v2": 1}
    by_dotted = await grouped({"dimension": "METADATA", "field": "a.b"})
    assert {g["metadata"]["a.b"] for g in by_dotted} == {None}  # a.b is a path: a -> b

    comments = await grouped({"dimension": "USER"}, {"userIds": ["ann"]})
    assert [c["comment"] for c in comments[0]["comments"]] == ["wrong", "great"]
    by_model_comments = await grouped({"dimension": "MODEL"})
    assert {g["model"]: [c["comment"] for c in g["comments"]] for g in by_model_comments} == {
        "gpt-x": ["great"],
        "gpt-y": ["wrong"],
    }

    filtered = await stats(
        gql,
        {
            "keys": ["thumbs"],
            "tags": ["eu"],
            "models": ["gpt-x"],
            "metadata": [{"field": "prompt.version", "value": "v1"}],
        },
    )
    assert [g["count"] for g in filtered["groups"]] == [2]
    by_runs = await stats(gql, {"runIds": [b[0]]})
    assert [(g["count"], g["negative"]) for g in by_runs["groups"]] == [(1, 1)]


async def test_bad_requests_have_specific_errors(gql: GraphQLClient) -> None:
    cases = [
        ({}, [{"dimension": "TIME"}], "bucket"),
        ({}, [{"dimension": "METADATA"}], "field"),
        ({}, [{"dimension": "KEY", "bucket": "DAY"}], "bucket"),
        ({"after": "2025-01-02T00:00:00Z", "before": "2025-01-01T00:00:00Z"}, None, "empty"),
        ({"keys": []}, None, "keys"),
        ({"runIds": ["not-a-uuid"]}, None, "UUID"),
        ({}, [{"dimension": "KEY"}, {"dimension": "KEY"}], "twice"),
        ({"after": "9999-12-31T23:30:00Z"}, None, "between 1970 and 9000"),
        ({"after": "1970-01-01T00:00:00Z"}, [{"dimension": "TIME", "bucket": "HOUR"}], "buckets"),
        ({}, [{"dimension": "METADATA", "field": "a..b"}], "dotted"),
    ]
    for filter, group_by, words in cases:
        error = await gql.error(STATS, {"filter": filter, "groupBy": group_by})
        assert error["extensions"]["code"] == "BAD_REQUEST", error
        assert words in error["message"], error["message"]


async def test_worst_runs(app: Starlette, gql: GraphQLClient, keys: Keys, other_keys: Keys) -> None:
    pid = keys.project_id
    await register(app, pid, "error", kind="boolean", higher_is_better=False)
    runs = await make_runs(app, pid, 3)
    await give(app, pid, runs[0], "thumbs", False, user_id="a", comment="bad answer")
    await give(app, pid, runs[0], "thumbs", False, user_id="b")
    await give(app, pid, runs[0], "thumbs", True, user_id="c")
    await give(app, pid, runs[1], "error", True, comment="it crashed")  # true is negative here
    await give(app, pid, runs[2], "thumbs", True)
    query = """query($keys: [String!]) { worstRuns(keys: $keys, first: 5) {
        runId negative positive scored negativeShare comments { comment } run { id } } }"""
    worst = (await gql.ok(query))["worstRuns"]
    assert [(w["runId"], w["negative"], w["positive"]) for w in worst] == [
        (runs[0], 2, 1),
        (runs[1], 1, 0),
    ]
    assert worst[0]["negativeShare"] == pytest.approx(2 / 3)
    assert worst[0]["comments"] == [{"comment": "bad answer"}]
    assert worst[1]["run"] == {"id": runs[1]}
    only_thumbs = (await gql.ok(query, {"keys": ["thumbs"]}))["worstRuns"]
    assert [w["runId"] for w in only_thumbs] == [runs[0]]
    assert (await gql.as_key(other_keys.read).ok(query))["worstRuns"] == []
