"""A span's chat messages, by whichever convention its instrumentation follows:

- OpenInference: ``llm.input_messages.<i>.message.*``, ``llm.output_messages.<i>.message.*``
  (flattened, with ``contents`` and ``tool_calls`` numbered inside);
- OpenTelemetry GenAI, 1.37 on: ``gen_ai.input.messages``, ``gen_ai.output.messages``
  and ``gen_ai.system_instructions`` (JSON text or structured values), as span
  attributes or on a ``gen_ai.client.inference.operation.details`` event;
- OpenTelemetry GenAI before 1.37: events ``gen_ai.system.message``,
  ``gen_ai.user.message``, ``gen_ai.assistant.message``, ``gen_ai.tool.message``
  (inputs) and ``gen_ai.choice`` (outputs); earlier still ``gen_ai.content.prompt``
  / ``gen_ai.content.completion`` events carrying ``gen_ai.prompt`` / ``gen_ai.completion``;
- OpenLLMetry: ``gen_ai.prompt.<i>.*``, ``gen_ai.completion.<i>.*``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from app.compat.otlp.values import json_or_text, unflatten

OPENINFERENCE_INPUT = "llm.input_messages."
OPENINFERENCE_OUTPUT = "llm.output_messages."
OPENLLMETRY_INPUT = "gen_ai.prompt."
OPENLLMETRY_OUTPUT = "gen_ai.completion."
GENAI_INPUT = "gen_ai.input.messages"
GENAI_OUTPUT = "gen_ai.output.messages"
GENAI_SYSTEM = "gen_ai.system_instructions"
GENAI_DETAILS_EVENT = "gen_ai.client.inference.operation.details"
GENAI_INPUT_EVENTS = {
    "gen_ai.system.message": "system",
    "gen_ai.user.message": "user",
    "gen_ai.assistant.message": "assistant",
    "gen_ai.tool.message": "tool",
}
GENAI_CHOICE_EVENT = "gen_ai.choice"
GENAI_PROMPT_EVENT = ("gen_ai.content.prompt", "gen_ai.prompt")
GENAI_COMPLETION_EVENT = ("gen_ai.content.completion", "gen_ai.completion")
# OpenInference wraps each item in a one-key object; these are dropped.
WRAPPERS = ("message", "message_content", "tool_call")
# Event attributes that say nothing about the message itself.
EVENT_NOISE = ("gen_ai.system", "gen_ai.provider.name")


@dataclass(frozen=True)
class Event:
    name: str
    attributes: dict[str, Any]


@dataclass
class Messages:
    inputs: list[Any] = field(default_factory=list)
    outputs: list[Any] = field(default_factory=list)
    # What the messages came from: attribute keys and event positions.
    keys: set[str] = field(default_factory=set)
    events: set[int] = field(default_factory=set)


def _unwrap(value: Any) -> Any:
    if isinstance(value, dict):
        if len(value) == 1 and next(iter(value)) in WRAPPERS:
            return _unwrap(next(iter(value.values())))
        return {key: _unwrap(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_unwrap(item) for item in value]
    return value


def _as_list(value: Any) -> list[Any]:
    parsed = json_or_text(value)
    return parsed if isinstance(parsed, list) else [parsed]


def _flattened(attrs: dict[str, Any], prefix: str, found: Messages) -> list[Any]:
    keys = {
        key
        for key in attrs
        if key.startswith(prefix) and key[len(prefix) : len(prefix) + 1].isdigit()
    }
    if not keys:
        return []
    found.keys |= keys
    return [_unwrap(item) for item in unflatten({k: attrs[k] for k in keys}, prefix)]


def _genai(attrs: dict[str, Any], found: Messages, *, taken: bool = True) -> None:
    if GENAI_SYSTEM in attrs:
        found.inputs.append({"role": "system", "parts": _as_list(attrs[GENAI_SYSTEM])})
    if GENAI_INPUT in attrs:
        found.inputs += _as_list(attrs[GENAI_INPUT])
    if GENAI_OUTPUT in attrs:
        found.outputs += _as_list(attrs[GENAI_OUTPUT])
    if taken:
        found.keys |= {GENAI_SYSTEM, GENAI_INPUT, GENAI_OUTPUT} & attrs.keys()


def _event_message(event: Event, role: str | None) -> dict[str, Any]:
    message = {k: json_or_text(v) for k, v in event.attributes.items() if k not in EVENT_NOISE}
    if role is not None:
        message.setdefault("role", role)
    return message


def _events(events: Sequence[Event], found: Messages) -> None:
    for index, event in enumerate(events):
        name = event.name
        if name in GENAI_INPUT_EVENTS:
            found.inputs.append(_event_message(event, GENAI_INPUT_EVENTS[name]))
        elif name == GENAI_CHOICE_EVENT:
            found.outputs.append(_event_message(event, None))
        elif name == GENAI_PROMPT_EVENT[0] and GENAI_PROMPT_EVENT[1] in event.attributes:
            found.inputs += _as_list(event.attributes[GENAI_PROMPT_EVENT[1]])
        elif name == GENAI_COMPLETION_EVENT[0] and GENAI_COMPLETION_EVENT[1] in event.attributes:
            found.outputs += _as_list(event.attributes[GENAI_COMPLETION_EVENT[1]])
        elif name == GENAI_DETAILS_EVENT:
            _genai(event.attributes, found, taken=False)
        else:
            continue
        found.events.add(index)


def messages(attrs: dict[str, Any], events: Sequence[Event]) -> Messages:
    """The span's input and output messages, and what they were read from."""
    found = Messages()
    found.inputs = _flattened(attrs, OPENINFERENCE_INPUT, found) or _flattened(
        attrs, OPENLLMETRY_INPUT, found
    )
    found.outputs = _flattened(attrs, OPENINFERENCE_OUTPUT, found) or _flattened(
        attrs, OPENLLMETRY_OUTPUT, found
    )
    _genai(attrs, found)
    _events(events, found)
    return found
