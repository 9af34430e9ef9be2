"""The built-in checks, each on examples that pass and that fail, and the checks on
their settings."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from app.domain.evaluation.checks import Check, NotApplicable
from app.domain.evaluation.definition import CheckSpec
from app.errors import BadRequest
from app.store.runs import Run

AT = datetime(2025, 5, 1, tzinfo=UTC)


def make_run(outputs: Any = None, inputs: Any = None, **fields: Any) -> Run:
    values: dict[str, Any] = {
        "id": "run",
        "project_id": "p",
        "name": None,
        "inputs": inputs,
        "outputs": outputs,
        "tags": [],
        "metadata": None,
        "user_id": None,
        "session_id": None,
        "trace_id": None,
        "parent_run_id": None,
        "model": None,
        "start_time": AT,
        "end_time": None,
        "latency_ms": None,
        "prompt_tokens": None,
        "completion_tokens": None,
        "total_tokens": None,
        "error": None,
        "created_at": AT,
        "updated_at": AT,
    }
    values.update(fields)
    return Run(**values)


def passes(spec: CheckSpec, run: Run) -> bool:
    return Check(spec).apply(run).passed


SCHEMA = {
    "type": "object",
    "properties": {"answer": {"type": "string"}, "confidence": {"type": "number", "maximum": 1}},
    "required": ["answer"],
}


@pytest.mark.parametrize(
    ("spec", "good", "bad"),
    [
        (CheckSpec("valid_json"), '{"a": [1, 2]}', '{"a": [1, 2'),
        (
            CheckSpec("json_schema", json_schema=SCHEMA),
            '{"answer": "4", "confidence": 0.9}',
            '{"answer": "4", "confidence": 3}',
        ),
        (CheckSpec("regex_match", pattern=r"\bORD-\d{4}\b"), "your order ORD-1234", "order 1234"),
        (
            CheckSpec("regex_no_match", pattern=r"(?i)as an ai"),
            "Here is the answer.",
            "As an AI, I cannot say.",
        ),
        (CheckSpec("length", min_length=3, max_length=10), "four", "far too long an answer"),
        (CheckSpec("contains_any", words=["refund", "return"]), "a refund is due", "refunded"),
        (
            CheckSpec("contains_none", words=["damn", "stupid"], ignore_case=True),
            "a kind answer",
            "That is STUPID.",
        ),
    ],
    ids=lambda v: v.type if isinstance(v, CheckSpec) else None,
)
def test_text_checks_pass_and_fail(spec: CheckSpec, good: str, bad: str) -> None:
    assert passes(spec, make_run(outputs=good)) is True
    assert passes(spec, make_run(outputs=bad)) is False


def test_numeric_checks_pass_and_fail() -> None:
    latency = CheckSpec("latency", max_latency_ms=2000)
    assert passes(latency, make_run(latency_ms=1999.5)) is True
    assert passes(latency, make_run(latency_ms=2000.5)) is False
    tokens = CheckSpec("tokens", max_tokens=500)
    assert passes(tokens, make_run(total_tokens=500)) is True
    assert passes(tokens, make_run(total_tokens=501)) is False
    assert Check(latency).apply(make_run(latency_ms=12.0)).value == {"latency_ms": 12.0}


def test_what_a_check_reads() -> None:
    # An object with one string field, or a string content, is that string.
    regex = CheckSpec("regex_match", pattern=r"^\d+$")
    assert passes(regex, make_run(outputs={"answer": "42"})) is True
    assert passes(regex, make_run(outputs={"content": "42", "role": "assistant"})) is True
    # Anything else is read as JSON.
    assert passes(CheckSpec("valid_json"), make_run(outputs={"a": 1, "b": 2})) is True
    # A field of the outputs, or the inputs.
    nested = CheckSpec("length", max_length=5, path="reply.text")
    assert passes(nested, make_run(outputs={"reply": {"text": "short"}, "x": "y" * 50})) is True
    assert passes(nested, make_run(outputs={"reply": {"text": "longer"}})) is False
    question = CheckSpec("contains_any", words=["refund"], target="inputs")
    assert passes(question, make_run(inputs="refund please", outputs="no")) is True
    # Words are whole words; case matters unless ignore_case.
    words = CheckSpec("contains_any", words=["Refund"])
    assert passes(words, make_run(outputs="Refund now")) is True
    assert passes(words, make_run(outputs="refund now")) is False
    assert passes(words, make_run(outputs="Refunds now")) is False
    measured = Check(CheckSpec("length", min_length=1)).apply(make_run(outputs="héllo"))
    assert measured.value == {"length": 5}


@pytest.mark.parametrize(
    ("spec", "run"),
    [
        (CheckSpec("latency", max_latency_ms=10), make_run(outputs="x")),
        (CheckSpec("tokens", max_tokens=10), make_run(outputs="x")),
        (CheckSpec("valid_json"), make_run(outputs=None)),
        (CheckSpec("valid_json", path="missing"), make_run(outputs={"a": 1})),
    ],
)
def test_a_check_that_cannot_judge_the_run_says_so(spec: CheckSpec, run: Run) -> None:
    with pytest.raises(NotApplicable):
        Check(spec).apply(run)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (CheckSpec("spelling"), "unknown check type 'spelling'"),
        (CheckSpec("regex_match"), "needs a pattern"),
        (CheckSpec("regex_match", pattern="(unclosed"), "not a regular expression"),
        (CheckSpec("json_schema"), "needs jsonSchema"),
        (CheckSpec("json_schema", json_schema={"type": 12}), "not a valid JSON Schema"),
        (CheckSpec("length"), "minLength, maxLength or both"),
        (CheckSpec("length", min_length=5, max_length=2), "minLength is more than maxLength"),
        (CheckSpec("latency"), "needs maxLatencyMs"),
        (CheckSpec("tokens", max_tokens=-1), "needs maxTokens"),
        (CheckSpec("contains_any", words=[" "]), "needs words"),
        (CheckSpec("valid_json", target="metadata"), "outputs or inputs"),
        (CheckSpec("valid_json", path="a..b"), "not a dotted path"),
    ],
)
def test_settings_a_check_cannot_run_with_are_refused(spec: CheckSpec, message: str) -> None:
    with pytest.raises(BadRequest) as refused:
        Check(spec)
    assert message in refused.value.message
