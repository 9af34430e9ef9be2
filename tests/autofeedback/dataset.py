"""A small labelled data set the autofeedback tests build through the API: support
answers on four topics, two labelled runs per topic (one of them by two reviewers),
and unlabelled runs to label. Run ids are fixed (uuid5 of the run's name), so the
deterministic holdout split is the same in every test run.

Each topic has its own words (refund, parcel shipping, password reset, invoice
taxes); across topics runs share only small words and the JSON keys.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from tests.conftest import GraphQLClient
from tests.task_helpers import create_task, ingest, submit

NAMESPACE = uuid.UUID("6f1c52a8-7d0e-4f4e-9a57-0b9f5c3e2d11")
TASK_NAME = "Support answers"
TAG = "support"
INSTRUCTIONS = "Judge the support answer: is it helpful, how good it is (1-5), and its tone."
SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "Helpful": {"type": "boolean"},
        "Score": {"type": "integer", "minimum": 1, "maximum": 5},
        "Tone": {"enum": ["friendly", "neutral", "rude"]},
        "Notes": {"type": "string"},
    },
    "required": ["Helpful", "Score"],
    "additionalProperties": False,
}

# name -> (question, answer)
RUNS: dict[str, tuple[str, str]] = {
    "refund-1": ("How do I get a refund for my order", "Open orders and press refund"),
    "refund-2": ("Refund for a broken order please", "Refund issued to your card"),
    "shipping-1": ("Where is my parcel shipping", "Parcel tracking shows shipping today"),
    "shipping-2": ("Parcel shipping is late again", "Shipping delays happen sorry"),
    "password-1": ("I forgot my password reset", "Password reset is not our problem"),
    "password-2": ("Password reset link expired", "Request another password reset link"),
    "invoice-1": ("Need an invoice copy for taxes", "Invoice copies are under billing"),
    "invoice-2": ("Invoice shows wrong taxes amount", "Invoice taxes fixed"),
    # unlabelled
    "refund-new": ("Refund for my damaged order", "We will refund the order"),
    "shipping-new": ("Parcel shipping to Canada", "Shipping to Canada takes a week"),
    "password-new": ("Password reset email missing", "Check spam for the password email"),
}
UNLABELLED = ["refund-new", "shipping-new", "password-new"]

# name -> [(reviewer, values)], in the order submitted
LABELS: dict[str, list[tuple[str, dict[str, Any]]]] = {
    "refund-1": [
        ("ann", {"Helpful": True, "Score": 5, "Tone": "friendly"}),
        ("bob", {"Helpful": True, "Score": 4, "Tone": "neutral"}),
    ],
    "refund-2": [("ann", {"Helpful": True, "Score": 4, "Tone": "friendly"})],
    "shipping-1": [("ann", {"Helpful": True, "Score": 3, "Tone": "neutral"})],
    "shipping-2": [("bob", {"Helpful": False, "Score": 2, "Tone": "neutral"})],
    "password-1": [("ann", {"Helpful": False, "Score": 1, "Tone": "rude"})],
    "password-2": [("bob", {"Helpful": True, "Score": 4, "Tone": "neutral"})],
    "invoice-1": [("ann", {"Helpful": True, "Score": 4, "Tone": "neutral", "Notes": "ok"})],
    "invoice-2": [("bob", {"Helpful": False, "Score": 2})],
}

# What a fake LLM answers for a run, by the topic word in the run to label.
TOPIC_LABELS: dict[str, dict[str, Any]] = {
    "refund": {"Helpful": True, "Score": 5, "Tone": "friendly"},
    "shipping": {"Helpful": True, "Score": 3, "Tone": "neutral"},
    "password": {"Helpful": False, "Score": 1, "Tone": "rude"},
    "invoice": {"Helpful": True, "Score": 4, "Tone": "neutral"},
}


def run_id(name: str) -> str:
    return str(uuid.uuid5(NAMESPACE, name))


def topic_label(text: str) -> dict[str, Any]:
    lowered = text.lower()
    for topic, values in TOPIC_LABELS.items():
        if topic in lowered:
            return dict(values)
    return {"Helpful": False, "Score": 1}


@dataclass
class DataSet:
    task_id: str
    ids: dict[str, str] = field(default_factory=dict)  # run name -> id

    def name_of(self, rid: str) -> str:
        return next(n for n, i in self.ids.items() if i == rid)


async def build(gql: GraphQLClient, *, extra_tags: list[str] | None = None) -> DataSet:
    task = await create_task(
        gql, name=TASK_NAME, schema=SCHEMA, instructions=INSTRUCTIONS, tags=[TAG]
    )
    ds = DataSet(task_id=task["id"])
    runs = []
    for name, (question, answer) in RUNS.items():
        ds.ids[name] = run_id(name)
        runs.append(
            {
                "id": ds.ids[name],
                "name": name,
                "inputs": {"question": question},
                "outputs": {"answer": answer},
                "tags": [TAG, *(extra_tags or [])],
            }
        )
    await ingest(gql, *runs)
    for name, labels in LABELS.items():
        for reviewer, values in labels:
            await submit(gql, ds.task_id, ds.ids[name], values, user=reviewer)
    return ds
