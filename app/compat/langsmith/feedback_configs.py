"""``/feedback-configs``: LangSmith feedback configs are Plaudit's feedback keys.

A LangSmith config is ``{type: continuous|categorical|freeform, min, max,
categories}`` plus ``is_lower_score_better`` and ``is_enforced``; a Plaudit key has
a kind, bounds, categories, ``higher_is_better`` and ``enforced``. Plaudit's
``boolean`` kind reads back as categorical 0 (false) / 1 (true). A key has one
config here (LangSmith can keep several per key). As in LangSmith, only an
enforced config refuses feedback it does not allow; ``is_enforced`` defaults to
false here as there (keys registered through GraphQL are enforced by default)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from app.compat.langsmith.http import (
    check,
    endpoint,
    iso,
    json_body,
    principal,
    query_bool,
    query_int,
    query_list,
    services,
    validator,
)
from app.domain import validation as v
from app.domain.feedback_keys import KeyConfig, delete_key, register_key
from app.errors import BadRequest, NotFound
from app.store.feedback_keys import FeedbackKey

NUMBER = {"type": "number"}
NULLABLE_NUMBER = {"type": ["number", "null"]}
CATEGORY = {
    "type": "object",
    "required": ["value"],
    "properties": {"value": NUMBER, "label": {"type": ["string", "null"]}},
}
CONFIG_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["type"],
    "properties": {
        "type": {"enum": ["continuous", "categorical", "freeform"]},
        "min": NULLABLE_NUMBER,
        "max": NULLABLE_NUMBER,
        "categories": {"type": ["array", "null"], "items": CATEGORY},
        "allows_multiple_categories": {"type": ["boolean", "null"]},
    },
}
CREATE = validator(
    {
        "type": "object",
        "required": ["feedback_key", "feedback_config"],
        "properties": {
            "feedback_key": {"type": "string"},
            "feedback_config": CONFIG_SCHEMA,
            "is_lower_score_better": {"type": ["boolean", "null"]},
            "is_enforced": {"type": ["boolean", "null"]},
        },
    }
)
UPDATE = validator(
    {
        "type": "object",
        "required": ["feedback_key"],
        "properties": {
            "feedback_key": {"type": "string"},
            "id": {"type": ["string", "null"]},
            "feedback_config": CONFIG_SCHEMA,
            "is_lower_score_better": {"type": ["boolean", "null"]},
            "add_categories": {"type": ["array", "null"], "items": CATEGORY},
            "remove_categories": {"type": ["array", "null"], "items": NUMBER},
            "is_enforced": {"type": ["boolean", "null"]},
        },
    }
)
CONFIG = validator(CONFIG_SCHEMA)


def _categories(raw: list[dict[str, Any]] | None) -> list[tuple[float, str]]:
    """Labels are optional in LangSmith and required in Plaudit: the value stands in."""
    found = []
    for category in raw or []:
        value = float(category["value"])
        label = category.get("label")
        found.append((value, str(label) if label is not None else f"{value:g}"))
    return found


def key_config(
    config: dict[str, Any],
    lower_is_better: bool | None,
    current: FeedbackKey | None = None,
    *,
    enforced: bool | None = None,
) -> KeyConfig:
    """A LangSmith feedback config as a Plaudit key config (enforced as ``enforced``
    says, else as the current key is, else not)."""
    check(CONFIG, config, "feedback_config")
    if config.get("allows_multiple_categories"):
        raise BadRequest(
            "allows_multiple_categories is not supported: a Plaudit categorical key takes "
            "one category per feedback record",
            field="feedback_config.allows_multiple_categories",
        )
    kind = config["type"]
    if lower_is_better is not None:
        higher_is_better = not lower_is_better
    else:
        higher_is_better = current.higher_is_better if current is not None else True
    return KeyConfig(
        kind=kind,
        min=config.get("min") if kind == "continuous" else None,
        max=config.get("max") if kind == "continuous" else None,
        categories=_categories(config.get("categories")) if kind == "categorical" else None,
        higher_is_better=higher_is_better,
        description=current.description if current is not None else None,
        enforced=enforced if enforced is not None else current is not None and current.enforced,
    )


def _as_key_config(fk: FeedbackKey) -> KeyConfig:
    return KeyConfig(
        kind=fk.kind,
        min=fk.min,
        max=fk.max,
        categories=[(c.value, c.label) for c in fk.categories] or None,
        higher_is_better=fk.higher_is_better,
        description=fk.description,
        enforced=fk.enforced,
    )


def config_json(fk: FeedbackKey) -> dict[str, Any]:
    """A Plaudit key as LangSmith's ``feedback_config``."""
    if fk.kind == "continuous":
        return {"type": "continuous", "min": fk.min, "max": fk.max}
    if fk.kind == "categorical":
        return {
            "type": "categorical",
            "categories": [{"value": c.value, "label": c.label} for c in fk.categories],
        }
    if fk.kind == "boolean":
        return {
            "type": "categorical",
            "categories": [{"value": 0, "label": "false"}, {"value": 1, "label": "true"}],
        }
    return {"type": "freeform"}


def schema_json(fk: FeedbackKey) -> dict[str, Any]:
    """A Plaudit key as LangSmith's FeedbackConfigSchema."""
    return {
        "id": fk.id,
        "feedback_key": fk.key,
        "feedback_config": config_json(fk),
        "tenant_id": fk.project_id,
        "modified_at": iso(fk.updated_at),
        "is_lower_score_better": not fk.higher_is_better,
        "is_enforced": fk.enforced,
        "is_first": True,
        "is_deleted": False,
    }


def _same(fk: FeedbackKey, config: KeyConfig) -> bool:
    return _as_key_config(fk) == config


@endpoint
async def create(request: Request) -> Response:
    who = await principal(request, "admin")
    body = await json_body(request, CREATE)
    stores = services(request).stores
    key = body["feedback_key"]
    current = await stores.feedback_keys.get(who.project_id, key)
    config = key_config(
        body["feedback_config"],
        body.get("is_lower_score_better"),
        current,
        enforced=bool(body.get("is_enforced")),
    )
    if current is not None:
        if _same(current, config):
            return JSONResponse(schema_json(current))
        raise BadRequest(
            f"Feedback config already exists for key {key!r}; change it with PATCH",
            key=key,
        )
    record = await register_key(stores, who.project_id, key, config)
    return JSONResponse(schema_json(record))


@endpoint
async def list_(request: Request) -> Response:
    who = await principal(request, "read")
    keys = query_list(request, "key")
    contains = request.query_params.get("name_contains")
    limit = query_int(request, "limit", 100, 1, 100)
    offset = query_int(request, "offset", 0, 0, 1_000_000)
    enforced = query_bool(request, "is_enforced")
    records = await services(request).stores.feedback_keys.list(who.project_id)
    chosen = [
        r
        for r in records
        if (keys is None or r.key in keys)
        and (not contains or contains.lower() in r.key.lower())
        and (enforced is None or r.enforced == enforced)
    ]
    return JSONResponse([schema_json(r) for r in chosen[offset : offset + limit]])


async def _find(request: Request, project_id: str, key: str, config_id: str | None) -> FeedbackKey:
    record = await services(request).stores.feedback_keys.get(project_id, key)
    if record is None or (config_id is not None and record.id != config_id):
        raise NotFound(f"no feedback config for key {key!r}", key=key)
    return record


@endpoint
async def update(request: Request) -> Response:
    who = await principal(request, "admin")
    body = await json_body(request, UPDATE)
    key = body["feedback_key"]
    config_id = v.check_uuid(body["id"], "id") if body.get("id") else None
    current = await _find(request, who.project_id, key, config_id)
    lower = body.get("is_lower_score_better")
    if body.get("feedback_config") is not None:
        config = key_config(body["feedback_config"], lower, current)
    else:
        config = _as_key_config(current)
        if lower is not None:
            config.higher_is_better = not lower
    if body.get("is_enforced") is not None:
        config.enforced = body["is_enforced"]
    if body.get("add_categories") or body.get("remove_categories"):
        if config.kind != "categorical":
            raise BadRequest(f"key {key!r} is {config.kind}, not categorical", key=key)
        removed = {float(x) for x in body.get("remove_categories") or []}
        kept = [(value, label) for value, label in config.categories or [] if value not in removed]
        config.categories = kept + _categories(body.get("add_categories"))
    record = await register_key(services(request).stores, who.project_id, key, config)
    return JSONResponse(schema_json(record))


@endpoint
async def delete(request: Request) -> Response:
    who = await principal(request, "admin")
    key = request.query_params.get("feedback_key")
    config_id = request.query_params.get("id")
    if (key is None) == (config_id is None):
        raise BadRequest("give exactly one of feedback_key or id")
    stores = services(request).stores
    if config_id is not None:
        config_id = v.check_uuid(config_id, "id")
        found = [r for r in await stores.feedback_keys.list(who.project_id) if r.id == config_id]
        if not found:
            raise NotFound(f"no feedback config with id {config_id}")
        key = found[0].key
    assert key is not None
    try:
        await delete_key(stores, who.project_id, key)
    except NotFound:
        raise NotFound(f"no feedback config for key {key!r}", key=key) from None
    return JSONResponse({})
