"""The real Langfuse Python SDK (5.x) reading back what it sent: ``@observe`` and
``start_as_current_observation`` nested around the real openai client (talking to
a fake OpenAI server), scores on the trace, on an observation and on the session,
``flush()``, then the SDK's own API client (``api.observations.get_many``: the v2
observations its models validate, ``api.scores.get_many``), Langfuse's trace and session
routes (the 5.x Python SDK has no client for them; the JS one does, see
test_js_sdk.py), and GraphQL."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import openai
import pytest
from langfuse import Langfuse, observe, propagate_attributes

from tests.autofeedback.fake_llm import FakeLLM, Reply, running_fake_llm
from tests.compat.langfuse.helpers import Pair
from tests.compat.langsmith.sdk.conftest import LiveServer
from tests.conftest import Keys

CREATE = """mutation { createApiKey(role: ADMIN, name: "langfuse", langfuse: true) {
  apiKey { id publicKey } secret } }"""
RUN = """query($id: ID!) { run(id: $id) { id name parentRunId sessionId
  feedback { key score value } } }"""

SESSION_STATS = """{ feedbackStats(filter: {keys: ["session rating"]},
  groupBy: [{dimension: SESSION}]) { groups { sessionId count mean } } }"""


@pytest.fixture
def fake_llm() -> Iterator[FakeLLM]:
    with running_fake_llm() as fake:
        fake.responder = lambda body: Reply(content="Sunny, 21 degrees.")
        yield fake


def test_sdk_reads_back_traces_observations_and_scores(
    live: LiveServer, keys: Keys, fake_llm: FakeLLM
) -> None:
    created = live.graphql(keys.admin, CREATE)["createApiKey"]
    pair = Pair(created["apiKey"]["id"], created["apiKey"]["publicKey"], created["secret"])
    client = Langfuse(public_key=pair.public_key, secret_key=pair.secret, base_url=live.url)
    llm = openai.OpenAI(base_url=fake_llm.url, api_key="sk-test", max_retries=0)
    seen: dict[str, str] = {}

    @observe(name="retrieve")
    def retrieve(question: str) -> list[str]:
        return ["doc-1"]

    @observe()
    def answer(question: str) -> str:
        retrieve(question)
        messages = [{"role": "user", "content": question}]
        with client.start_as_current_observation(
            name="chat", as_type="generation", model="gpt-test", input=messages
        ) as generation:
            reply = llm.chat.completions.create(model="gpt-test", messages=messages)  # type: ignore[arg-type]
            text = reply.choices[0].message.content or ""
            assert reply.usage is not None
            generation.update(
                output=text,
                usage_details={
                    "input": reply.usage.prompt_tokens,
                    "output": reply.usage.completion_tokens,
                },
            )
            seen["generation"] = generation.id
        return text

    try:
        with client.start_as_current_observation(name="request", as_type="span") as root:
            with propagate_attributes(trace_name="weather chat", user_id="ada", session_id="s-42"):
                # The key names the client: other tests' clients live in this process too.
                answer("Weather in Paris?", langfuse_public_key=pair.public_key)  # type: ignore[call-arg]
            seen["trace"], seen["root"] = root.trace_id, root.id
        trace_id = seen["trace"]
        client.create_score(trace_id=trace_id, name="thumbs", value=1, data_type="BOOLEAN")
        client.create_score(
            trace_id=trace_id, observation_id=seen["generation"], name="accuracy", value=0.5
        )
        client.create_score(session_id="s-42", name="session rating", value=4)
        client.flush()
        observations = client.api.observations.get_many(trace_id=trace_id, fields="core,basic,io")
        generations = client.api.observations.get_many(trace_id=trace_id, type="GENERATION")
        by_user = client.api.observations.get_many(user_id="ada", limit=2)
        scores = client.api.scores.get_many(trace_id=trace_id)
        session_scores = client.api.scores.get_many(session_id="s-42")
    finally:
        client.shutdown()
    assert fake_llm.requests, "the openai client reached the fake server"

    # The SDK's pydantic models took Plaudit's answers.
    by_name = {o.name: o for o in observations.data}
    assert set(by_name) == {"request", "answer", "retrieve", "chat"}
    assert {o.trace_id for o in observations.data} == {trace_id}
    assert by_name["request"].parent_observation_id is None
    assert by_name["request"].id == seen["root"]
    assert by_name["answer"].parent_observation_id == seen["root"]
    assert by_name["chat"].parent_observation_id == by_name["answer"].id
    assert by_name["retrieve"].parent_observation_id == by_name["answer"].id
    chat = by_name["chat"]
    assert (chat.id, chat.type, chat.model) == (seen["generation"], "GENERATION", "gpt-test")
    assert chat.usage_details == {"input": 1, "output": 1, "total": 2}
    assert chat.output == '"Sunny, 21 degrees."'
    assert chat.trace_name == "weather chat" and chat.user_id == "ada"
    assert chat.start_time.tzinfo is not None
    assert [o.id for o in generations.data] == [seen["generation"]]
    assert len(by_user.data) == 2 and by_user.meta.cursor is not None
    assert {s.name for s in scores.data} == {"thumbs", "accuracy"}
    assert [(s.name, s.value) for s in session_scores.data] == [("session rating", 4)]
    subject = session_scores.data[0].subject
    assert subject is not None and (subject.kind, subject.id) == ("session", "s-42")

    # The trace with its observations and scores, the session with its trace.
    auth = pair.basic()
    trace = httpx.get(f"{live.url}/api/public/traces/{trace_id}", headers=auth).json()
    assert (trace["id"], trace["name"], trace["userId"]) == (trace_id, "weather chat", "ada")
    assert trace["timestamp"].endswith("Z")
    assert {o["name"] for o in trace["observations"]} == set(by_name)
    values = {s["name"]: (s["value"], s.get("observationId")) for s in trace["scores"]}
    assert values == {"thumbs": (1, None), "accuracy": (0.5, seen["generation"])}
    session = httpx.get(f"{live.url}/api/public/sessions/s-42", headers=auth).json()
    assert [t["id"] for t in session["traces"]] == [trace_id]

    # GraphQL: the same runs, the scores on them.
    run = live.graphql(keys.read, RUN, {"id": str(uuid.UUID(trace_id))})["run"]
    assert run["sessionId"] == "s-42"
    assert {f["key"]: f["score"] for f in run["feedback"]} == {"thumbs": True}
    # The session's score, in statistics grouped by session.
    stats = live.graphql(keys.read, SESSION_STATS)["feedbackStats"]["groups"]
    assert [(g["sessionId"], g["count"], g["mean"]) for g in stats] == [("s-42", 1, 4.0)]
