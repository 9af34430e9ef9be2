"""``/api/public/score-configs`` as Plaudit feedback keys, and scores checked against
their config the way Langfuse checks them (the real SDK's client: sdk/test_score_configs_sdk.py)."""

from __future__ import annotations

from typing import Any

import httpx

from tests.compat.langfuse.helpers import Pair, key_pair
from tests.conftest import GraphQLClient

CONFIGS = "/api/public/score-configs"
KEY = """query($k: String!) { feedbackKey(key: $k) { kind min max enforced
  categories { value label } } }"""
FEEDBACK = """query($k: String!) { feedback(filter: {keys: [$k]}) { nodes { score value } } }"""
TRACE = "ab" * 16


async def _config(http: httpx.AsyncClient, pair: Pair, body: dict[str, Any]) -> dict[str, Any]:
    response = await http.post(CONFIGS, json=body, headers=pair.basic())
    assert response.status_code == 200, response.text
    created: dict[str, Any] = response.json()
    return created


async def _score(http: httpx.AsyncClient, pair: Pair, **score: Any) -> httpx.Response:
    return await http.post(
        "/api/public/scores", json={"traceId": TRACE, **score}, headers=pair.basic()
    )


async def test_each_config_type_is_a_feedback_key(
    http: httpx.AsyncClient, gql: GraphQLClient
) -> None:
    pair = await key_pair(gql)
    numeric = await _config(
        http, pair, {"name": "accuracy", "dataType": "NUMERIC", "minValue": 0, "maxValue": 1}
    )
    assert (numeric["dataType"], numeric["minValue"], numeric["maxValue"]) == ("NUMERIC", 0, 1)
    assert numeric["isArchived"] is False and numeric["categories"] is None
    tone = [{"value": 0, "label": "rude"}, {"value": 1, "label": "friendly"}]
    await _config(http, pair, {"name": "tone", "dataType": "CATEGORICAL", "categories": tone})
    boolean = await _config(http, pair, {"name": "thumbs", "dataType": "BOOLEAN"})
    assert boolean["categories"] == [{"value": 1, "label": "True"}, {"value": 0, "label": "False"}]
    await _config(http, pair, {"name": "note", "dataType": "TEXT", "description": "why"})
    kinds = {}
    for name in ("accuracy", "tone", "thumbs", "note"):
        kinds[name] = (await gql.ok(KEY, {"k": name}))["feedbackKey"]
    assert kinds["accuracy"] == {
        "kind": "CONTINUOUS",
        "min": 0,
        "max": 1,
        "enforced": True,
        "categories": [],
    }
    assert kinds["tone"]["kind"] == "CATEGORICAL"
    assert [c["label"] for c in kinds["tone"]["categories"]] == ["rude", "friendly"]
    assert (kinds["thumbs"]["kind"], kinds["note"]["kind"]) == ("BOOLEAN", "FREEFORM")
    # Scores with each config: a category's label is the value, its number the score.
    ok = [
        await _score(http, pair, name="accuracy", value=0.5, configId=numeric["id"]),
        await _score(http, pair, name="tone", value="friendly"),
        await _score(http, pair, id="tone-2", name="tone", value=0, dataType="CATEGORICAL"),
        await _score(http, pair, name="thumbs", value=1, configId=boolean["id"]),
        await _score(http, pair, name="note", value="fine", dataType="TEXT"),
    ]
    assert [r.status_code for r in ok] == [200] * 5, [r.text for r in ok]
    tones = (await gql.ok(FEEDBACK, {"k": "tone"}))["feedback"]["nodes"]
    assert sorted((t["score"], t["value"]) for t in tones) == [(0, "rude"), (1, "friendly")]
    (thumb,) = (await gql.ok(FEEDBACK, {"k": "thumbs"}))["feedback"]["nodes"]
    assert thumb["score"] is True
    read = await http.get("/api/public/scores/tone-2", headers=pair.basic())
    assert (read.json()["dataType"], read.json()["stringValue"]) == ("CATEGORICAL", "rude")


async def test_a_violation_of_each_rule_is_a_400_naming_it(
    http: httpx.AsyncClient, gql: GraphQLClient
) -> None:
    pair = await key_pair(gql)
    numeric = await _config(
        http, pair, {"name": "accuracy", "dataType": "NUMERIC", "minValue": 0, "maxValue": 1}
    )
    cats = [{"value": 0, "label": "rude"}, {"value": 1, "label": "friendly"}]
    tone = await _config(
        http, pair, {"name": "tone", "dataType": "CATEGORICAL", "categories": cats}
    )
    thumbs = await _config(http, pair, {"name": "thumbs", "dataType": "BOOLEAN"})
    note = await _config(http, pair, {"name": "note", "dataType": "TEXT"})
    cases = [
        (dict(name="accuracy", value=1.5, configId=numeric["id"]), "value out of range"),
        (dict(name="accuracy", value=-2), "value out of range"),
        (dict(name="tone", value="grumpy", configId=tone["id"]), "unknown category"),
        (dict(name="tone", value=7), "unknown category"),
        (dict(name="thumbs", value=0.5, configId=thumbs["id"]), "data type mismatch"),
        (dict(name="thumbs", value=1, dataType="NUMERIC"), "data type mismatch"),
        (dict(name="note", value=3, configId=note["id"]), "data type mismatch"),
        (dict(name="accuracy", value="high", dataType="CATEGORICAL"), "data type mismatch"),
        (dict(name="other", value=0.5, configId=numeric["id"]), "name mismatch"),
    ]
    for score, rule in cases:
        response = await _score(http, pair, **score)
        assert response.status_code == 400, (score, response.text)
        body = response.json()
        assert body["error"] == "score_config_violation", body
        assert rule in body["message"], (score, body)
    unknown = await _score(http, pair, name="x", value=1, configId="no-such-config")
    assert unknown.status_code == 404, unknown.text
    assert "score config" in unknown.json()["message"]
    # Archived: a score naming the config is refused, until it is restored.
    archived = await http.patch(
        f"{CONFIGS}/{numeric['id']}", json={"isArchived": True}, headers=pair.basic()
    )
    assert archived.status_code == 200 and archived.json()["isArchived"] is True
    refused = await _score(http, pair, name="accuracy", value=0.5, configId=numeric["id"])
    assert refused.status_code == 400 and "(archived)" in refused.json()["message"]
    await http.patch(f"{CONFIGS}/{numeric['id']}", json={"isArchived": False}, headers=pair.basic())
    again = await _score(http, pair, name="accuracy", value=0.5, configId=numeric["id"])
    assert again.status_code == 200, again.text
    # Nothing refused was stored.
    assert len((await gql.ok(FEEDBACK, {"k": "accuracy"}))["feedback"]["nodes"]) == 1


async def test_configs_list_read_update_and_refusals(
    http: httpx.AsyncClient, gql: GraphQLClient
) -> None:
    pair = await key_pair(gql)
    ids = [
        (await _config(http, pair, {"name": f"c{i}", "dataType": "NUMERIC"}))["id"]
        for i in range(3)
    ]
    page = await http.get(CONFIGS, params={"page": 2, "limit": 2}, headers=pair.basic())
    assert page.status_code == 200, page.text
    assert page.json()["meta"] == {"page": 2, "limit": 2, "totalItems": 3, "totalPages": 2}
    assert [c["id"] for c in page.json()["data"]] == ids[2:]
    one = await http.get(f"{CONFIGS}/{ids[0]}", headers=pair.basic())
    assert one.json()["name"] == "c0"
    changed = await http.patch(
        f"{CONFIGS}/{ids[0]}", json={"maxValue": 10, "description": "d"}, headers=pair.basic()
    )
    assert (changed.json()["maxValue"], changed.json()["description"]) == (10, "d")
    refusals = [
        (
            await http.post(CONFIGS, json={"name": "c0", "dataType": "TEXT"}, headers=pair.basic()),
            409,
        ),
        (
            await http.post(
                CONFIGS, json={"name": "a/b", "dataType": "TEXT"}, headers=pair.basic()
            ),
            400,
        ),
        (
            await http.post(
                CONFIGS,
                json={
                    "name": "b",
                    "dataType": "BOOLEAN",
                    "categories": [{"value": 1, "label": "y"}],
                },
                headers=pair.basic(),
            ),
            400,
        ),
        (
            await http.post(
                CONFIGS, json={"name": "t", "dataType": "TEXT", "minValue": 1}, headers=pair.basic()
            ),
            400,
        ),
        (await http.patch(f"{CONFIGS}/{ids[1]}", json={"name": "new"}, headers=pair.basic()), 400),
        (await http.get(f"{CONFIGS}/nope", headers=pair.basic()), 404),
    ]
    for response, status in refusals:
        assert response.status_code == status, response.text
        assert response.json()["message"]
    reader = await key_pair(gql, "READ")
    denied = await http.post(
        CONFIGS, json={"name": "r", "dataType": "TEXT"}, headers=reader.basic()
    )
    assert denied.status_code == 403
