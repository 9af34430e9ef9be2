"""Plaudit runs as Langfuse's traces and observations (the objects its public
API's read routes answer with), and feedback as Langfuse's v1 scores.

- A trace is a run without a parent: the run a Langfuse trace was stored as
  (app/compat/langfuse/traces.py), or any other root run (LangSmith, plain OTel),
  but a run standing for a session to hold its scores (``langfuse.session``).
  Its id is the run's trace id as 32 hex digits: for the Langfuse SDKs, the OTel
  trace id they gave.
- An observation is any run but a Langfuse trace's or session's own. Its id is the OTel span
  id it was sent as (16 hex digits), else the run id (a UUID). Its type is
  ``langfuse.observation.type`` when the SDK sent one, else read from the run's
  type (llm: GENERATION, embedding, tool, retriever; others: SPAN).
- Inputs and outputs that Plaudit wrapped (``{"input": value}``, see
  app/compat/otlp/mapping.py) read back unwrapped. Times are ISO 8601 in UTC with Z.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

from app.compat.langfuse import scores
from app.compat.langfuse.sessions import SESSION_MARK
from app.compat.langfuse.traces import TRACE_MARK
from app.compat.langsmith.run_mapping import RUN_TYPE
from app.store.feedback import Feedback
from app.store.runs import SPAN_ID, Run

ENVIRONMENT = "default"
# Where the dashboard shows runs (Langfuse's htmlPath: the trace's page in its UI).
HTML_PATH = "/dashboard"
LANGFUSE_TYPE = "langfuse.observation.type"
OBSERVATION_TYPES = (
    "SPAN",
    "GENERATION",
    "EVENT",
    "AGENT",
    "TOOL",
    "CHAIN",
    "RETRIEVER",
    "EVALUATOR",
    "EMBEDDING",
    "GUARDRAIL",
)
# A run's type (LangSmith's run_type, kept as ls_run_type) as an observation type.
TYPES_OF_RUNS = {
    "llm": "GENERATION",
    "embedding": "EMBEDDING",
    "tool": "TOOL",
    "retriever": "RETRIEVER",
    "chain": "SPAN",
    "prompt": "SPAN",
}
LEVEL = "langfuse.observation.level"
STATUS_MESSAGE = "langfuse.observation.status_message"
MODEL_PARAMETERS = "langfuse.observation.model.parameters"
# Kept by Plaudit for itself, not read back as the observation's metadata.
OWN_METADATA = (TRACE_MARK, RUN_TYPE)


def zulu(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def hex_id(run_id: str) -> str:
    """A UUID as Langfuse's 32 hex digits (a UUID-shaped run id as it is otherwise)."""
    try:
        return uuid.UUID(run_id).hex
    except ValueError:
        return run_id


def metadata_of(run: Run) -> dict[str, Any]:
    return run.metadata if isinstance(run.metadata, dict) else {}


def is_trace_run(run: Run) -> bool:
    """The run a Langfuse trace itself was stored as (not one of its observations)."""
    return metadata_of(run).get(TRACE_MARK) is True


def is_session_run(run: Run) -> bool:
    """A run standing for a session (to hold its scores): neither trace nor observation."""
    return metadata_of(run).get(SESSION_MARK) is True


def is_trace(run: Run) -> bool:
    """A run read back as a trace."""
    return run.parent_run_id is None and not is_session_run(run)


def is_observation(run: Run) -> bool:
    """A run read back as an observation."""
    return not is_trace_run(run) and not is_session_run(run)


def trace_id_of(run: Run) -> str:
    return hex_id(run.trace_id or run.id)


def observation_id(run: Run) -> str:
    span_id = metadata_of(run).get(SPAN_ID)
    return span_id if isinstance(span_id, str) and span_id else run.id


def observation_type(run: Run) -> str:
    metadata = metadata_of(run)
    given = metadata.get(LANGFUSE_TYPE)
    if isinstance(given, str) and given.upper() in OBSERVATION_TYPES:
        return given.upper()
    return TYPES_OF_RUNS.get(str(metadata.get(RUN_TYPE)), "SPAN")


def unwrapped(value: Any, key: str) -> Any:
    if isinstance(value, dict) and len(value) == 1 and key in value:
        return value[key]
    return value


def _latency(run: Run) -> float | None:
    return run.latency_ms / 1000 if run.latency_ms is not None else None


def _usage(run: Run) -> dict[str, int]:
    counts = {
        "input": run.prompt_tokens,
        "output": run.completion_tokens,
        "total": run.total_tokens,
    }
    return {name: count for name, count in counts.items() if count is not None}


def _parsed(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _own_metadata(run: Run) -> dict[str, Any]:
    return {k: v for k, v in metadata_of(run).items() if k not in OWN_METADATA}


def observation(run: Run, parent_id: str | None) -> dict[str, Any]:
    """Langfuse's ObservationsView (GET /api/public/observations); ``parent_id``:
    the parent's observation id (None under a trace)."""
    metadata = metadata_of(run)
    usage = _usage(run)
    level = metadata.get(LEVEL)
    return {
        "id": observation_id(run),
        "traceId": trace_id_of(run),
        "type": observation_type(run),
        "name": run.name,
        "startTime": zulu(run.start_time),
        "endTime": zulu(run.end_time),
        "completionStartTime": None,
        "model": run.model,
        "modelParameters": _parsed(metadata.get(MODEL_PARAMETERS)),
        "input": unwrapped(run.inputs, "input"),
        "output": unwrapped(run.outputs, "output"),
        "version": None,
        "metadata": _own_metadata(run),
        "usage": {
            "input": usage.get("input", 0),
            "output": usage.get("output", 0),
            "total": usage.get("total", 0),
            "unit": "TOKENS",
        },
        "level": str(level) if level else ("ERROR" if run.error else "DEFAULT"),
        "statusMessage": metadata.get(STATUS_MESSAGE) or run.error,
        "parentObservationId": parent_id,
        "promptId": None,
        "promptName": None,
        "promptVersion": None,
        "usageDetails": usage,
        "costDetails": {},
        "environment": ENVIRONMENT,
        "modelId": None,
        "inputPrice": None,
        "outputPrice": None,
        "totalPrice": None,
        "calculatedInputCost": None,
        "calculatedOutputCost": None,
        "calculatedTotalCost": None,
        "latency": _latency(run),
        "timeToFirstToken": None,
    }


def _raw(value: Any) -> str | None:
    """An input or output as the v2 API gives it: JSON text."""
    return None if value is None else json.dumps(value, ensure_ascii=False)


def observation_v2(
    project_id: str, run: Run, parent_id: str | None, trace: Run | None
) -> dict[str, Any]:
    """Langfuse's ObservationV2 (GET /api/public/v2/observations), every field group;
    ``trace``: the trace's run, when there is one (its name, tags)."""
    view = observation(run, parent_id)
    usage = view["usageDetails"]
    for name in (
        "usage",
        "calculatedInputCost",
        "calculatedOutputCost",
        "calculatedTotalCost",
    ):
        del view[name]
    return {
        **view,
        "projectId": project_id,
        "isRootObservation": parent_id is None,
        "bookmarked": False,
        "public": False,
        "userId": run.user_id,
        "sessionId": run.session_id,
        "createdAt": zulu(run.created_at),
        "updatedAt": zulu(run.updated_at),
        "input": _raw(view["input"]),
        "output": _raw(view["output"]),
        "internalModelId": None,
        "usageDetails": usage,
        "totalCost": None,
        "usagePricingTierName": None,
        "traceName": trace.name if trace else None,
        "tags": trace.tags if trace else run.tags,
        "release": None,
    }


def trace(run: Run) -> dict[str, Any]:
    """Langfuse's Trace (what every trace shape starts with)."""
    return {
        "id": trace_id_of(run),
        "timestamp": zulu(run.start_time),
        "name": run.name,
        "input": unwrapped(run.inputs, "input"),
        "output": unwrapped(run.outputs, "output"),
        "sessionId": run.session_id,
        "release": None,
        "version": None,
        "userId": run.user_id,
        "metadata": _own_metadata(run),
        "tags": run.tags,
        "public": False,
        "environment": ENVIRONMENT,
        "htmlPath": HTML_PATH,
        "latency": _latency(run),
        "totalCost": None,
    }


def score_v1(project_id: str, trace_id: str, record: Feedback) -> dict[str, Any]:
    """Langfuse's v1 score (a trace's ``scores``): ``value`` a number (BOOLEAN
    1 or 0, with ``stringValue`` "True" or "False"), ``stringValue`` the
    category or text of CATEGORICAL and TEXT scores (their ``value`` null)."""
    found = scores.to_json(project_id, record)
    kind = found["dataType"]
    if kind == "BOOLEAN":
        found["stringValue"] = "True" if found["value"] else "False"
        found["value"] = 1 if found["value"] else 0
    elif kind in ("CATEGORICAL", "TEXT"):
        found["value"] = None
    del found["subject"]
    found["traceId"] = trace_id
    return found


def score_id(record: Feedback) -> str:
    """The id a score reads back with (the client-chosen one, else the record's)."""
    return str(scores.to_json("", record)["id"])
