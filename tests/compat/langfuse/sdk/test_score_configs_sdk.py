"""The real Langfuse Python SDK's ``api.score_configs`` client against a live Plaudit
(its pydantic models parse every answer), and a score naming a config through
``api.scores.create``; a violation comes back in the SDK's 207 answer (CreateScoreBatchResults).

The API client is ``LangfuseAPI``, what ``Langfuse(...).api`` is: a second
``Langfuse`` client in the process would make ``@observe`` in test_sdk.py find
several and trace nothing (the SDK's rule for more than one project)."""

from __future__ import annotations

import httpx
from langfuse.api import ConfigCategory, LangfuseAPI, ScoreConfigDataType
from langfuse.api.scores import CreateScoreBatchResults, CreateScoreRequest

from tests.compat.langsmith.sdk.conftest import LiveServer
from tests.conftest import Keys

CREATE = """mutation { createApiKey(role: ADMIN, name: "langfuse", langfuse: true) {
  apiKey { publicKey } secret } }"""
KEYS = "{ feedbackKeys { key kind min max categories { value label } } }"
FEEDBACK = """query($k: String!) { feedback(filter: {keys: [$k]}) { nodes { score value } } }"""
TRACE = "ef" * 16


def test_sdk_score_configs(live: LiveServer, keys: Keys) -> None:
    created = live.graphql(keys.admin, CREATE)["createApiKey"]
    with httpx.Client(timeout=30) as http_client:
        client = LangfuseAPI(
            base_url=live.url,
            username=created["apiKey"]["publicKey"],
            password=created["secret"],
            x_langfuse_public_key=created["apiKey"]["publicKey"],
            httpx_client=http_client,
        )
        api = client.score_configs
        numeric = api.create(
            name="accuracy", data_type=ScoreConfigDataType.NUMERIC, min_value=0, max_value=1
        )
        tone = api.create(
            name="tone",
            data_type=ScoreConfigDataType.CATEGORICAL,
            categories=[
                ConfigCategory(value=0, label="rude"),
                ConfigCategory(value=1, label="kind"),
            ],
        )
        thumbs = api.create(name="thumbs", data_type=ScoreConfigDataType.BOOLEAN)
        api.create(name="note", data_type=ScoreConfigDataType.TEXT, description="free text")
        first = api.get(page=1, limit=3)
        second = api.get(page=2, limit=3)
        fetched = api.get_by_id(tone.id)
        archived = api.update(thumbs.id, is_archived=True, description="retired")
        client.scores.create(
            request=[
                CreateScoreRequest(
                    trace_id=TRACE, name="accuracy", value=0.4, config_id=numeric.id
                ),
                CreateScoreRequest(trace_id=TRACE, name="tone", value="kind", config_id=tone.id),
            ]
        )
        refused = client.scores.create(
            request=[
                CreateScoreRequest(trace_id=TRACE, name="accuracy", value=3, config_id=numeric.id)
            ]
        )

    assert (numeric.data_type, numeric.min_value, numeric.max_value) == ("NUMERIC", 0, 1)
    assert [c.label for c in tone.categories or []] == ["rude", "kind"]
    assert [(c.value, c.label) for c in thumbs.categories or []] == [(1, "True"), (0, "False")]
    assert [c.name for c in first.data] == ["accuracy", "tone", "thumbs"]
    assert [c.name for c in second.data] == ["note"]
    assert (first.meta.total_items, first.meta.total_pages, second.meta.page) == (4, 2, 2)
    assert fetched.id == tone.id and fetched.data_type == "CATEGORICAL"
    assert (archived.is_archived, archived.description) == (True, "retired")
    assert isinstance(refused, CreateScoreBatchResults), refused
    assert (refused.accepted, refused.rejected) == (0, 1)
    assert "value out of range" in refused.errors[0].message
    # Plaudit's own view: feedback keys, and the scores that fit.
    registered = {k["key"]: k for k in live.graphql(keys.read, KEYS)["feedbackKeys"]}
    assert registered["accuracy"]["kind"] == "CONTINUOUS"
    assert (registered["accuracy"]["min"], registered["accuracy"]["max"]) == (0, 1)
    assert registered["note"]["kind"] == "FREEFORM"
    accuracy = live.graphql(keys.read, FEEDBACK, {"k": "accuracy"})["feedback"]["nodes"]
    assert [a["score"] for a in accuracy] == [0.4]
    (kind,) = live.graphql(keys.read, FEEDBACK, {"k": "tone"})["feedback"]["nodes"]
    assert (kind["score"], kind["value"]) == (1, "kind")
