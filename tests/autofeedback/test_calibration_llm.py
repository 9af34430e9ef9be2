"""The calibration report for the LLM method, against a local chat-completions
server that labels by topic: numbers worked out by hand, on the same split as the
baseline's, and the held-out labels never shown to the model."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from app.settings import Settings
from tests.autofeedback.api import calibration
from tests.autofeedback.dataset import RUNS, build, topic_label
from tests.autofeedback.fake_llm import FakeLLM, Reply
from tests.conftest import GraphQLClient


@pytest.fixture
def settings(settings: Settings, fake_llm: FakeLLM) -> Settings:
    return replace(settings, llm_base_url=fake_llm.url, llm_model="judge-1", llm_max_retries=0)


async def test_llm_calibration_by_hand(gql: GraphQLClient, fake_llm: FakeLLM) -> None:
    ds = await build(gql)
    fake_llm.responder = lambda body: Reply.label(topic_label(fake_llm.last_user_message(body)))
    report = await calibration(gql, task=ds.task_id, method="LLM", holdout=0.25, examples=3)
    held_out = [ds.name_of(i) for i in report["heldOutRunIds"]]
    assert held_out == ["refund-1", "invoice-1"]  # the baseline's split (same seed)
    assert (report["model"], report["examples"], report["predicted"]) == ("judge-1", 3, 2)
    # The model says refund: true/5/friendly, invoice: true/4/neutral.
    # refund-1, people: (ann) true/5/friendly, (bob) true/4/neutral.
    # invoice-1, people: (ann) true/4/neutral.
    # Helpful: 3 of 3 agree. Score: |5-5| + |5-4| + |4-4| = 1 over 3 pairs.
    # Tone: friendly=friendly, friendly!=neutral, neutral=neutral: 2 of 3.
    fields = {f["field"]: f for f in report["fields"]}
    assert fields["Helpful"]["exactAgreement"] == 1.0
    assert fields["Score"]["meanAbsoluteError"] == pytest.approx(1 / 3)
    assert fields["Tone"]["exactAgreement"] == pytest.approx(2 / 3)
    assert [fields[f]["compared"] for f in ("Helpful", "Score", "Tone")] == [3, 3, 3]

    # Held-out runs were only ever the run to label, never an example.
    assert len(fake_llm.requests) == 2
    for body in fake_llm.requests:
        examples = [m["content"] for m in body["messages"][1:-1] if m["role"] == "user"]
        assert len(examples) == 3
        for name in held_out:
            assert all(RUNS[name][0] not in shown for shown in examples)


async def test_failed_predictions_are_counted_not_compared(
    gql: GraphQLClient, fake_llm: FakeLLM
) -> None:
    ds = await build(gql)

    def answer(body: dict[str, Any]) -> Reply:
        text = fake_llm.last_user_message(body)
        if "invoice" in text.lower():
            return Reply(content="no idea")
        return Reply.label(topic_label(text))

    fake_llm.responder = answer
    report = await calibration(gql, task=ds.task_id, method="LLM", holdout=0.25)
    assert (report["predicted"], report["failed"]) == (1, 1)
    (failure,) = report["failures"]
    assert failure["runId"] == ds.ids["invoice-1"]
    assert "invalid twice" in failure["error"]
    fields = {f["field"]: f for f in report["fields"]}
    # Only refund-1's two labels are compared.
    assert fields["Score"]["compared"] == 2
    assert fields["Score"]["meanAbsoluteError"] == 0.5
    assert fields["Helpful"]["runs"] == 1
