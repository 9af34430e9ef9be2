"""A small project whose every export line the tests know in advance."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tests.conftest import GraphQLClient
from tests.task_helpers import create_task, ingest, submit

REGISTER = """
mutation($input: FeedbackKeyInput!) { registerFeedbackKey(input: $input) { key } }"""

FEEDBACK = """
mutation($input: FeedbackInput!) { createFeedback(input: $input) { id createdAt } }"""

PREFER = """
mutation($key: String!, $a: ID!, $b: ID!, $tied: Tie, $user: String, $comment: String) {
  logPreference(key: $key, preferredRunId: $a, otherRunId: $b, tied: $tied, userId: $user,
                comment: $comment) { id createdAt }
}"""

SIGNAL = """
mutation($run: ID!, $kind: SignalKind!, $edited: JSON, $user: String) {
  recordSignal(runId: $run, kind: $kind, editedOutput: $edited, userId: $user) { id createdAt }
}"""


def ms(iso: str) -> str:
    """A time as the database keeps it (whole milliseconds)."""
    at = datetime.fromisoformat(iso)
    return at.replace(microsecond=at.microsecond - at.microsecond % 1000).isoformat()


CHAT = {"messages": [{"role": "user", "content": "Hi"}]}


@dataclass
class Dataset:
    runs: dict[str, str] = field(default_factory=dict)  # name -> id
    feedback: dict[str, dict[str, Any]] = field(default_factory=dict)  # label -> {id, createdAt}
    preference: dict[str, Any] = field(default_factory=dict)
    tie: dict[str, Any] = field(default_factory=dict)
    edit: dict[str, Any] = field(default_factory=dict)
    task_id: str = ""


async def build(gql: GraphQLClient) -> Dataset:
    """Runs:
    - r1, r2: same question; r1 answered Paris (helpful, thumbs up), r2 Lyon (not
      helpful, thumbs down, corrected to Paris, error kind hallucination).
    - r3, r4: the same chat; r3 good quality, r4 poor quality and toxic (corrected,
      error kind format).
    - r5: a joke the user edited; quality exactly at the midpoint (neither).
    """
    ds = Dataset()
    for key in (
        {"key": "helpful", "kind": "BOOLEAN"},
        {"key": "quality", "kind": "CONTINUOUS", "min": 0, "max": 10},
        {"key": "toxicity", "kind": "CONTINUOUS", "min": 0, "max": 1, "higherIsBetter": False},
        {
            "key": "error_kind",
            "kind": "CATEGORICAL",
            "categories": [{"value": 1, "label": "hallucination"}, {"value": 2, "label": "format"}],
        },
    ):
        await gql.ok(REGISTER, {"input": key})
    ids = await ingest(
        gql,
        {
            "name": "qa",
            "inputs": {"question": "Capital of France?"},
            "outputs": {"answer": "Paris"},
        },
        {"name": "qa", "inputs": {"question": "Capital of France?"}, "outputs": {"answer": "Lyon"}},
        {"name": "chat", "inputs": CHAT, "outputs": {"role": "assistant", "content": "Hello!"}},
        {"name": "chat", "inputs": CHAT, "outputs": {"role": "assistant", "content": "Go away"}},
        {"name": "joke", "inputs": "Tell a joke", "outputs": "Why did the chicken cross?"},
        {"name": "other", "inputs": {"question": "Unrelated"}, "outputs": "x", "tags": ["t"]},
    )
    ds.runs = dict(zip(["r1", "r2", "r3", "r4", "r5", "r6"], ids, strict=True))
    r = ds.runs

    async def fb(label: str, **values: Any) -> None:
        data = await gql.ok(FEEDBACK, {"input": values})
        created = data["createFeedback"]
        ds.feedback[label] = {"id": created["id"], "createdAt": ms(created["createdAt"])}

    await fb("r1.helpful", runId=r["r1"], key="helpful", score=True, userId="ann")
    await fb("r1.thumbs", runId=r["r1"], key="thumbs", score=1)
    await fb("r2.helpful", runId=r["r2"], key="helpful", score=False, userId="ann", comment="wrong")
    await fb("r2.thumbs", runId=r["r2"], key="thumbs", score=-1)
    await fb("r2.correction", runId=r["r2"], key="correctness", correction="Paris")
    await fb("r2.error_kind", runId=r["r2"], key="error_kind", value="hallucination")
    await fb("r3.quality", runId=r["r3"], key="quality", score=8)
    await fb("r4.quality", runId=r["r4"], key="quality", score=2, comment="rude")
    await fb("r4.toxicity", runId=r["r4"], key="toxicity", score=0.9)
    await fb(
        "r4.correction",
        runId=r["r4"],
        key="correctness",
        correction={"role": "assistant", "content": "Hello! How can I help?"},
    )
    await fb("r4.error_kind", runId=r["r4"], key="error_kind", score=2)
    await fb("r5.quality", runId=r["r5"], key="quality", score=5)

    data = await gql.ok(
        PREFER, {"key": "helpful", "a": r["r1"], "b": r["r2"], "user": "cy", "comment": "right"}
    )
    ds.preference = data["logPreference"]
    data = await gql.ok(PREFER, {"key": "helpful", "a": r["r3"], "b": r["r4"], "tied": "BAD"})
    ds.tie = data["logPreference"]
    data = await gql.ok(
        SIGNAL, {"run": r["r5"], "kind": "EDIT", "edited": "Knock knock.", "user": "dee"}
    )
    ds.edit = data["recordSignal"]
    await gql.ok(SIGNAL, {"run": r["r5"], "kind": "COPY"})

    task = await create_task(
        gql,
        name="Review",
        schema={
            "type": "object",
            "properties": {"Failure": {"enum": ["none", "wrong fact", "rude"]}},
        },
    )
    ds.task_id = task["id"]
    await submit(gql, task["id"], r["r2"], {"Failure": "wrong fact"}, user="ann")
    await submit(gql, task["id"], r["r4"], {"Failure": "rude"}, user="ann")
    await submit(gql, task["id"], r["r4"], {"Failure": "wrong fact"}, user="bob")
    return ds


def expected_dpo(ds: Dataset) -> list[dict[str, Any]]:
    r = ds.runs
    return [
        {
            "prompt": "Capital of France?",
            "chosen": "Paris",
            "rejected": "Lyon",
            "meta": {
                "source": "preference",
                "preference_id": ds.preference["id"],
                "key": "helpful",
                "chosen_run_id": r["r1"],
                "rejected_run_id": r["r2"],
                "same_inputs": True,
                "user_id": "cy",
                "comment": "right",
                "created_at": ds.preference["createdAt"],
            },
        },
        {
            "prompt": "Tell a joke",
            "chosen": "Knock knock.",
            "rejected": "Why did the chicken cross?",
            "meta": {
                "source": "edit",
                "run_id": r["r5"],
                "signal_id": ds.edit["id"],
                "user_id": "dee",
                "created_at": ds.edit["createdAt"],
            },
        },
        _feedback_pair("helpful", "Capital of France?", r["r1"], r["r2"], "Paris", "Lyon", 1, 0),
        _feedback_pair("quality", CHAT["messages"], r["r3"], r["r4"], "Hello!", "Go away", 8, 2),
        _feedback_pair("thumbs", "Capital of France?", r["r1"], r["r2"], "Paris", "Lyon", 1, -1),
    ]


def _feedback_pair(
    key: str,
    prompt: Any,
    chosen_id: str,
    rejected_id: str,
    chosen: str,
    rejected: str,
    chosen_score: float,
    rejected_score: float,
) -> dict[str, Any]:
    return {
        "prompt": prompt,
        "chosen": chosen,
        "rejected": rejected,
        "meta": {
            "source": "feedback",
            "key": key,
            "chosen_run_id": chosen_id,
            "rejected_run_id": rejected_id,
            "chosen_score": chosen_score,
            "rejected_score": rejected_score,
        },
    }


def expected_sft(ds: Dataset) -> list[dict[str, Any]]:
    r = ds.runs
    return [
        {
            "prompt": "Capital of France?",
            "completion": "Paris",
            "meta": {
                "source": "correction",
                "run_id": r["r2"],
                "feedback_id": ds.feedback["r2.correction"]["id"],
                "key": "correctness",
                "user_id": None,
                "created_at": ds.feedback["r2.correction"]["createdAt"],
            },
        },
        {
            "messages": CHAT["messages"],
            "completion": "Hello! How can I help?",
            "meta": {
                "source": "correction",
                "run_id": r["r4"],
                "feedback_id": ds.feedback["r4.correction"]["id"],
                "key": "correctness",
                "user_id": None,
                "created_at": ds.feedback["r4.correction"]["createdAt"],
            },
        },
        {
            "prompt": "Tell a joke",
            "completion": "Knock knock.",
            "meta": {
                "source": "edit",
                "run_id": r["r5"],
                "signal_id": ds.edit["id"],
                "user_id": "dee",
                "created_at": ds.edit["createdAt"],
            },
        },
    ]
