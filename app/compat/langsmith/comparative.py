"""``/datasets/comparative``: LangSmith's comparative experiments, which are
Plaudit's (app/domain/comparative_experiments.py). ``create_comparative_experiment``
(and so ``evaluate_comparative``) creates one; its pairwise feedback arrives
through ``/feedback`` with ``comparative_experiment_id`` and becomes preferences."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from app.compat.langsmith.http import endpoint, iso, json_body, principal, services, validator
from app.domain import comparative_experiments
from app.store.comparative import ComparativeExperiment

ID = {"type": ["string", "null"]}
CREATE = validator(
    {
        "type": "object",
        "required": ["name", "experiment_ids"],
        "properties": {
            "id": ID,
            "name": {"type": "string"},
            "experiment_ids": {"type": "array", "items": {"type": "string"}},
            "reference_dataset_id": ID,
            "description": {"type": ["string", "null"]},
            # Plaudit stamps its own creation time.
            "created_at": {"type": ["string", "null"]},
            "extra": {"type": ["object", "null"]},
        },
    }
)


def to_json(record: ComparativeExperiment) -> dict[str, Any]:
    """LangSmith's ComparativeExperiment."""
    return {
        "id": record.id,
        "name": record.name,
        "description": record.description,
        "tenant_id": record.project_id,
        "created_at": iso(record.created_at),
        "modified_at": iso(record.modified_at),
        "reference_dataset_id": record.reference_dataset_id,
        "extra": record.extra,
        "experiments_info": [{"id": e} for e in record.experiment_ids],
        "feedback_stats": None,
    }


@endpoint
async def create(request: Request) -> Response:
    who = await principal(request, "ingest")
    body = await json_body(request, CREATE)
    record = await comparative_experiments.create_comparative_experiment(
        services(request).stores,
        who.project_id,
        name=body["name"],
        experiment_ids=body["experiment_ids"],
        reference_dataset_id=body.get("reference_dataset_id"),
        description=body.get("description"),
        extra=body.get("extra"),
        comparative_id=body.get("id"),
    )
    return JSONResponse(to_json(record))
