"""How runs, feedback and outputs look in export lines."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from app.store.feedback import Feedback
from app.store.runs import Run


def _is_messages(value: Any) -> bool:
    return (
        isinstance(value, list)
        and bool(value)
        and all(isinstance(m, dict) and isinstance(m.get("role"), str) for m in value)
    )


def chat_messages(inputs: Any) -> list[dict[str, Any]] | None:
    """The chat messages a run's inputs are, if they are: a list of {role, content}
    or an object whose ``messages`` is one."""
    if _is_messages(inputs):
        return list(inputs)
    if isinstance(inputs, dict) and _is_messages(inputs.get("messages")):
        return list(inputs["messages"])
    return None


def text_or_value(value: Any) -> Any:
    """A string stays a string; an object with a single string field, or with a
    string ``content``, becomes that string; anything else stays as it is."""
    if isinstance(value, dict):
        if len(value) == 1:
            (only,) = value.values()
            if isinstance(only, str):
                return only
        if isinstance(value.get("content"), str):
            return value["content"]
    return value


def prompt(inputs: Any) -> Any:
    """A run's inputs as a prompt: the chat messages, or the text, or the inputs."""
    messages = chat_messages(inputs)
    return messages if messages is not None else text_or_value(inputs)


def iso(at: datetime | None) -> str | None:
    return at.isoformat() if at is not None else None


def run_json(run: Run) -> dict[str, Any]:
    return {
        "id": run.id,
        "name": run.name,
        "inputs": run.inputs,
        "outputs": run.outputs,
        "tags": run.tags,
        "metadata": run.metadata,
        "model": run.model,
        "user_id": run.user_id,
        "session_id": run.session_id,
        "trace_id": run.trace_id,
        "start_time": iso(run.start_time),
        "end_time": iso(run.end_time),
        "latency_ms": run.latency_ms,
        "error": run.error,
    }


def feedback_json(fb: Feedback) -> dict[str, Any]:
    return {
        "id": fb.id,
        "run_id": fb.run_id,
        "key": fb.key,
        "score": fb.score,
        "value": fb.value,
        "comment": fb.comment,
        "correction": fb.correction,
        "source_type": fb.source_type,
        "source_info": fb.source_info,
        "user_id": fb.user_id,
        "retracted": fb.retracted,
        "created_at": iso(fb.created_at),
        "modified_at": iso(fb.modified_at),
    }
