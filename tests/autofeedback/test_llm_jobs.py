"""AutoFeedbackICL end to end: jobs started through GraphQL, labelling runs with a
real HTTP server that speaks the chat completions protocol (tests/autofeedback/
fake_llm.py), which checks what it is sent and answers valid, invalid and error
responses."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest

from app.domain.autofeedback.prompt import PROMPT_VERSION
from app.settings import Settings
from tests.autofeedback.api import START, finished, model_submissions, start
from tests.autofeedback.dataset import (
    INSTRUCTIONS,
    SCHEMA,
    TASK_NAME,
    TOPIC_LABELS,
    UNLABELLED,
    build,
    topic_label,
)
from tests.autofeedback.fake_llm import FakeLLM, Reply
from tests.conftest import GraphQLClient
from tests.task_helpers import ingest

API_KEY = "sk-judge-test-key-0123456789"
MODEL = "judge-1"


@pytest.fixture
def settings(settings: Settings, fake_llm: FakeLLM) -> Settings:
    return replace(
        settings,
        llm_base_url=fake_llm.url,
        llm_model=MODEL,
        llm_api_key=API_KEY,
        llm_max_retries=2,
    )


def label_by_topic(fake: FakeLLM) -> None:
    fake.responder = lambda body: Reply.label(topic_label(fake.last_user_message(body)))


def request_for(fake: FakeLLM, text: str) -> list[dict[str, Any]]:
    return [b for b in fake.requests if text in fake.last_user_message(b)]


async def test_a_task_job_labels_the_unlabelled_runs(gql: GraphQLClient, fake_llm: FakeLLM) -> None:
    ds = await build(gql)
    label_by_topic(fake_llm)
    job = await start(gql, task=ds.task_id, limit=100, examples=2)
    assert job["taskId"] == ds.task_id
    assert (job["total"], job["model"], job["reviewer"], job["method"]) == (
        3,
        MODEL,
        "model:judge-1",
        "LLM",
    )
    done = await finished(gql, job["id"])
    assert (done["status"], done["done"], done["failed"], done["inFlight"]) == ("DONE", 3, 0, 0)
    assert len(fake_llm.requests) == 3

    # What the server was sent for the refund run.
    (body,) = request_for(fake_llm, "Refund for my damaged order")
    assert body["model"] == MODEL
    assert fake_llm.headers[0]["authorization"] == f"Bearer {API_KEY}"
    assert body["response_format"]["type"] == "json_schema"
    assert body["response_format"]["json_schema"]["schema"] == SCHEMA
    system = body["messages"][0]["content"]
    assert INSTRUCTIONS in system and json.dumps(SCHEMA, indent=2) in system
    assert TASK_NAME in system
    # Two examples (k = 2): the refund runs, each as a turn with its label.
    examples = body["messages"][1:-1]
    assert [m["role"] for m in examples] == ["user", "assistant", "user", "assistant"]
    assert "Refund for a broken order please" in examples[0]["content"]
    assert json.loads(examples[1]["content"]) == {"Helpful": True, "Score": 4, "Tone": "friendly"}
    assert "How do I get a refund for my order" in examples[2]["content"]

    # Stored as a task submission of reviewer model:judge-1, source MODEL.
    (submission,) = await model_submissions(gql, ds.task_id, ds.ids["refund-new"])
    assert submission["reviewer"] == submission["userId"] == "model:judge-1"
    assert submission["values"] == TOPIC_LABELS["refund"]
    info = submission["sourceInfo"]
    assert info["method"] == "llm"
    assert info["model"] == MODEL
    assert info["prompt_version"] == PROMPT_VERSION
    assert info["example_run_ids"] == [ds.ids["refund-2"], ds.ids["refund-1"]]
    assert info["job_id"] == job["id"]
    for name in ("shipping-new", "password-new"):
        (other,) = await model_submissions(gql, ds.task_id, ds.ids[name])
        assert other["values"] == TOPIC_LABELS[name.split("-")[0]]

    # Its metrics are feedback like people's, told apart by source.
    data = await gql.ok(
        "query($r: ID!) { feedback(filter: {runIds: [$r], sourceTypes: [MODEL]}) "
        "{ nodes { key score sourceType userId sourceInfo } } }",
        {"r": ds.ids["refund-new"]},
    )
    metrics = {n["key"]: n for n in data["feedback"]["nodes"]}
    assert metrics[f"{TASK_NAME}.Helpful"]["score"] is True
    assert metrics[f"{TASK_NAME}.Score"]["score"] == 5
    assert metrics[f"{TASK_NAME}.Score"]["userId"] == "model:judge-1"
    assert metrics[f"{TASK_NAME}.Score"]["sourceInfo"]["field"] == "Score"
    assert metrics[f"{TASK_NAME}.Score"]["sourceInfo"]["model"] == MODEL

    # Automatic labels are not reviews: the runs stay in the people's queue, and
    # agreement between people is unchanged.
    queue = await gql.ok(
        "query($t: ID!) { reviewQueue(taskId: $t, first: 50) { nodes { run { id } } } }",
        {"t": ds.task_id},
    )
    assert {ds.ids[n] for n in UNLABELLED} <= {
        n["run"]["id"] for n in queue["reviewQueue"]["nodes"]
    }
    agreement = await gql.ok(
        "query($t: ID!) { taskAgreement(taskId: $t) { runsCompared } }", {"t": ds.task_id}
    )
    assert agreement["taskAgreement"]["runsCompared"] == 1

    # Nothing is left to label.
    again = await start(gql, task=ds.task_id, limit=100)
    assert again["total"] == 0
    assert (await finished(gql, again["id"]))["status"] == "DONE"
    assert len(fake_llm.requests) == 3


async def test_an_invalid_answer_is_retried_once_with_the_errors(
    gql: GraphQLClient, fake_llm: FakeLLM
) -> None:
    ds = await build(gql)
    fake_llm.script.extend(
        [
            Reply(content='{"Helpful": "yes", "Score": 9}'),
            Reply.label({"Helpful": True, "Score": 5}),
        ]
    )
    job = await start(gql, task=ds.task_id, limit=5, filter={"name": "refund-new"})
    assert job["total"] == 1
    assert job["runFilter"] == {"name": "refund-new"}
    done = await finished(gql, job["id"])
    assert (done["done"], done["failed"]) == (1, 0)
    first, second = fake_llm.requests
    assert second["messages"][:-2] == first["messages"]
    assert second["messages"][-2] == {
        "role": "assistant",
        "content": '{"Helpful": "yes", "Score": 9}',
    }
    correction = second["messages"][-1]["content"]
    assert "does not match the JSON Schema" in correction
    assert "$.Helpful: 'yes' is not of type 'boolean'" in correction
    assert "$.Score: 9 is greater than the maximum of 5" in correction
    (submission,) = await model_submissions(gql, ds.task_id, ds.ids["refund-new"])
    assert submission["values"] == {"Helpful": True, "Score": 5}


async def test_invalid_twice_is_a_failure_not_feedback(
    gql: GraphQLClient, fake_llm: FakeLLM
) -> None:
    ds = await build(gql)
    fake_llm.script.extend([Reply(content="I think it is helpful."), Reply(content='{"Score": 0}')])
    job = await start(gql, task=ds.task_id, limit=5, filter={"name": "shipping-new"})
    done = await finished(gql, job["id"])
    assert (done["status"], done["done"], done["failed"]) == ("DONE", 0, 1)
    (failure,) = done["failures"]
    assert failure["runId"] == ds.ids["shipping-new"]
    assert "invalid twice" in failure["error"]
    assert "$.Helpful: 'Helpful' is a required property" in failure["error"]
    assert "$.Score: 0 is less than the minimum of 1" in failure["error"]
    assert await model_submissions(gql, ds.task_id, ds.ids["shipping-new"]) == []
    assert "not JSON" in fake_llm.requests[1]["messages"][-1]["content"]

    # A fenced JSON answer is fine.
    fake_llm.script.append(Reply(content='```json\n{"Helpful": false, "Score": 1}\n```'))
    job = await start(gql, task=ds.task_id, limit=5, filter={"name": "password-new"})
    assert (await finished(gql, job["id"]))["done"] == 1


async def test_429_then_success(gql: GraphQLClient, fake_llm: FakeLLM) -> None:
    ds = await build(gql)
    fake_llm.script.extend(
        [Reply.error(429, retry_after="0"), Reply.label({"Helpful": True, "Score": 4})]
    )
    job = await start(gql, task=ds.task_id, limit=5, filter={"name": "refund-new"})
    done = await finished(gql, job["id"])
    assert (done["done"], done["failed"]) == (1, 0)
    assert len(fake_llm.requests) == 2


async def test_500s_until_retries_are_exhausted_fail_the_run(
    gql: GraphQLClient, fake_llm: FakeLLM
) -> None:
    ds = await build(gql)
    fake_llm.responder = lambda body: Reply.error(500, retry_after="0")
    job = await start(gql, task=ds.task_id, limit=5)
    done = await finished(gql, job["id"])
    assert (done["status"], done["done"], done["failed"]) == ("DONE", 0, 3)
    assert len(fake_llm.requests) == 3 * 3  # PLAUDIT_LLM_MAX_RETRIES=2: three attempts each
    assert all("HTTP 500 3 times" in f["error"] for f in done["failures"])


async def test_an_unreachable_llm_fails_the_job(gql: GraphQLClient, fake_llm: FakeLLM) -> None:
    ds = await build(gql)
    await ingest(gql, *({"tags": ["support"], "inputs": {"question": f"q{i}"}} for i in range(9)))
    fake_llm.responder = lambda body: Reply.error(503, retry_after="0")
    job = await start(gql, task=ds.task_id, limit=50)
    assert job["total"] == 12
    done = await finished(gql, job["id"])
    assert done["status"] == "FAILED"
    assert "stopped after 5 runs in a row could not reach the LLM" in done["error"]
    assert "HTTP 503" in done["error"]
    # It stops taking runs; those already in flight (at most 4 at a time) still end.
    assert 5 <= done["failed"] <= 8
    assert done["done"] == 0


async def test_json_object_mode_when_the_server_has_no_json_schema(
    gql: GraphQLClient, fake_llm: FakeLLM
) -> None:
    ds = await build(gql)
    fake_llm.refused_formats = {"json_schema"}
    label_by_topic(fake_llm)
    job = await start(gql, task=ds.task_id, limit=5)
    assert (await finished(gql, job["id"]))["done"] == 3
    formats = [b["response_format"]["type"] for b in fake_llm.requests]
    assert formats[0] == "json_schema"
    assert formats.count("json_object") == 3


async def test_a_key_judge(gql: GraphQLClient, fake_llm: FakeLLM) -> None:
    ds = await build(gql)
    await gql.ok(
        'mutation { registerFeedbackKey(input: {key: "correct", kind: CONTINUOUS, min: 0, '
        'max: 1, description: "Is the answer correct"}) { key } }'
    )
    for name, score in (("refund-1", 1.0), ("shipping-1", 0.5), ("password-1", 0.0)):
        await gql.ok(
            'mutation($r: ID!, $s: Score) { createFeedback(input: {runId: $r, key: "correct", '
            'score: $s, userId: "ann"}) { id } }',
            {"r": ds.ids[name], "s": score},
        )
    judge = await gql.ok(
        'mutation { setKeyJudge(key: "correct", instructions: "1 if every fact is right") '
        "{ key instructions } }"
    )
    assert judge["setKeyJudge"]["instructions"] == "1 if every fact is right"

    attempts: dict[str, int] = {}

    def judge_answer(body: dict[str, Any]) -> Reply:
        text = fake_llm.last_user_message(body)
        topic = next(t for t in ("refund", "shipping", "password", "invoice") if t in text.lower())
        attempts[topic] = attempts.get(topic, 0) + 1
        if topic == "refund":  # out of range, then right
            return Reply.label({"score": 3 if attempts[topic] == 1 else 0.9})
        if topic == "password":  # not a number, twice
            return Reply.label({"score": "bad"})
        return Reply.label({"score": 0.25})

    fake_llm.responder = judge_answer
    job = await start(gql, key="correct", limit=100, examples=3)
    assert job["key"] == "correct" and job["taskId"] is None
    assert job["total"] == 8  # every run without feedback on the key
    done = await finished(gql, job["id"])
    assert (done["done"], done["failed"]) == (6, 2)
    assert {f["runId"] for f in done["failures"]} == {ds.ids["password-2"], ds.ids["password-new"]}
    assert all("'bad' is not of type 'number'" in f["error"] for f in done["failures"])

    body = fake_llm.requests[0]
    schema = body["response_format"]["json_schema"]["schema"]
    assert schema["properties"]["score"]["type"] == "number"
    assert (schema["properties"]["score"]["minimum"], schema["properties"]["score"]["maximum"]) == (
        0,
        1,
    )
    assert "1 if every fact is right" in body["messages"][0]["content"]
    assert 'the feedback key "correct"' in body["messages"][0]["content"]

    data = await gql.ok(
        'query($r: ID!) { feedback(filter: {runIds: [$r], keys: ["correct"]}) '
        "{ nodes { score sourceType userId sourceInfo } } }",
        {"r": ds.ids["refund-new"]},
    )
    (record,) = data["feedback"]["nodes"]
    assert (record["score"], record["sourceType"], record["userId"]) == (
        0.9,
        "MODEL",
        "model:judge-1",
    )
    assert record["sourceInfo"]["prompt_version"] == PROMPT_VERSION
    assert len(record["sourceInfo"]["example_run_ids"]) == 3


async def test_a_judge_with_instructions_and_no_labels_yet_works_zero_shot(
    gql: GraphQLClient, fake_llm: FakeLLM
) -> None:
    await build(gql)
    await gql.ok('mutation { registerFeedbackKey(input: {key: "polite", kind: BOOLEAN}) { key } }')
    # Without instructions, there is nothing to go on.
    error = await gql.error(START, {"key": "polite", "limit": 100})
    assert "nothing to learn from yet" in error["message"]
    await gql.ok('mutation { setKeyJudge(key: "polite", instructions: "true if polite") { key } }')
    fake_llm.responder = lambda body: Reply.label({"score": True})
    job = await start(gql, key="polite", limit=100)
    done = await finished(gql, job["id"])
    assert (done["total"], done["done"], done["failed"]) == (11, 11, 0)
    body = fake_llm.requests[0]
    assert [m["role"] for m in body["messages"]] == ["system", "user"]
    assert "true if polite" in body["messages"][0]["content"]
    assert body["response_format"]["json_schema"]["schema"]["properties"]["score"]["type"] == (
        "boolean"
    )
