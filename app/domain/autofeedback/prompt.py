"""The AutoFeedbackICL prompt: instructions, the label's JSON Schema, and k labelled
examples as earlier turns of the conversation, then the run to label.

::

    system:    what is labelled, the instructions, the JSON Schema, "answer with JSON"
    user:      Run to label: <input> <output>        \\
    assistant: {"Coherence": 6, "Faithful": true}    /  once per example
    user:      Run to label: <input> <output>           the target run

Examples as turns (rather than one long message) keep each label attached to its run
and show the model exactly the answer expected. ``PROMPT_VERSION`` is stored with
every label; change it whenever the prompt changes.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from app.domain.autofeedback.similarity import text_of
from app.domain.autofeedback.targets import Example, Target
from app.store.runs import Run

PROMPT_VERSION = "icl-1"
# Characters of a run's input and of its output shown, per example and for the
# run being labelled.
EXAMPLE_CHARS = 2000
TARGET_CHARS = 6000

Message = dict[str, str]


def clip(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return text[:limit] + f"… [{len(text) - limit} more characters]"


def render_run(run: Run, limit: int) -> str:
    return (
        f"Input:\n{clip(text_of(run.inputs), limit) or '(none)'}\n\n"
        f"Output:\n{clip(text_of(run.outputs), limit) or '(none)'}"
    )


def render_label(values: dict[str, Any]) -> str:
    return json.dumps(values, ensure_ascii=False)


def system_message(target: Target) -> str:
    instructions = target.instructions or "None given: label as the examples are labelled."
    schema = json.dumps(target.schema, ensure_ascii=False, indent=2)
    return (
        "You label runs of an LLM application (an input and the output the application "
        f"gave) for {target.describe()}, the way this project's reviewers do.\n\n"
        f"## Instructions\n{instructions}\n\n"
        "## Answer\nAnswer with one JSON object that matches this JSON Schema, and "
        f"nothing else:\n```json\n{schema}\n```"
    )


def build_messages(target: Target, examples: Sequence[Example], run: Run) -> list[Message]:
    messages = [{"role": "system", "content": system_message(target)}]
    for example in examples:
        messages.append(
            {
                "role": "user",
                "content": "Run to label:\n\n" + render_run(example.run, EXAMPLE_CHARS),
            }
        )
        messages.append({"role": "assistant", "content": render_label(example.values)})
    messages.append(
        {"role": "user", "content": "Run to label:\n\n" + render_run(run, TARGET_CHARS)}
    )
    return messages


def retry_message(problems: Sequence[str]) -> str:
    listed = "\n".join(f"- {p}" for p in problems[:20])
    return (
        "That answer does not match the JSON Schema:\n"
        f"{listed}\n"
        "Answer again with only a JSON object that matches the schema."
    )
