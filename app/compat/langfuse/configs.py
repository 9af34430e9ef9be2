"""``/api/public/score-configs``: Langfuse's score configs are Plaudit's feedback keys.

A config's ``name`` is the key, its ``id`` the key's id. NUMERIC is a continuous
key (``minValue``/``maxValue`` its bounds), CATEGORICAL a categorical key (its
``categories``, ``{value, label}``), BOOLEAN a boolean key (read back with
Langfuse's categories True = 1, False = 0), TEXT a free-form key. A config made
here is enforced: every feedback on the key (through any route) must fit it.
``isArchived`` is kept; a score naming an archived config is refused.

Routes: ``POST`` (create), ``GET`` (list; ``page`` from 1 and ``limit``),
``GET /{id}`` and ``PATCH /{id}`` (isArchived, categories, bounds, description;
the name is the key, so it cannot change).

Scores are checked against their config as Langfuse checks them (:func:`check_score`):
the one named by ``configId``, else the enforced config of the score's name."""

from __future__ import annotations

import math
import re
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from app.compat.langfuse.http import principal
from app.compat.langsmith.http import endpoint, iso, json_body, query_int, services, validator
from app.domain import validation as v
from app.domain.feedback_keys import KeyConfig, register_key, register_key_if_new
from app.errors import BadRequest, Conflict, NotFound
from app.store import Stores
from app.store.feedback_keys import FeedbackKey

KINDS = {
    "NUMERIC": "continuous",
    "CATEGORICAL": "categorical",
    "BOOLEAN": "boolean",
    "TEXT": "freeform",
}
DATA_TYPES = {kind: data_type for data_type, kind in KINDS.items()}
BOOLEAN_CATEGORIES = [{"value": 1, "label": "True"}, {"value": 0, "label": "False"}]
# Langfuse's rule for a config's name.
NAME = re.compile(r"^[A-Za-z0-9_\-. ()]{1,35}$")
MAX_PAGE = 100
NUMBER = {"type": ["number", "null"]}
CATEGORIES = {
    "type": ["array", "null"],
    "maxItems": 100,
    "items": {
        "type": "object",
        "required": ["value", "label"],
        "properties": {"value": {"type": "number"}, "label": {"type": "string"}},
    },
}
CREATE = validator(
    {
        "type": "object",
        "required": ["name", "dataType"],
        "properties": {
            "name": {"type": "string"},
            "dataType": {"enum": list(KINDS)},
            "categories": CATEGORIES,
            "minValue": NUMBER,
            "maxValue": NUMBER,
            "description": {"type": ["string", "null"]},
        },
    }
)
UPDATE = validator(
    {
        "type": "object",
        "properties": {
            "isArchived": {"type": ["boolean", "null"]},
            "name": {"type": ["string", "null"]},
            "categories": CATEGORIES,
            "minValue": NUMBER,
            "maxValue": NUMBER,
            "description": {"type": ["string", "null"]},
        },
    }
)


class ScoreConfigViolation(BadRequest):
    """A score its config does not allow (Langfuse answers 400 too)."""

    code = "SCORE_CONFIG_VIOLATION"


def data_type(fk: FeedbackKey) -> str:
    return DATA_TYPES.get(fk.kind, "TEXT")


def to_json(project_id: str, fk: FeedbackKey) -> dict[str, Any]:
    kind = data_type(fk)
    categories: list[dict[str, Any]] | None = None
    if kind == "CATEGORICAL":
        categories = [{"value": c.value, "label": c.label} for c in fk.categories]
    elif kind == "BOOLEAN":
        categories = list(BOOLEAN_CATEGORIES)
    return {
        "id": fk.id,
        "name": fk.key,
        "projectId": project_id,
        "dataType": kind,
        "isArchived": fk.archived,
        "minValue": fk.min,
        "maxValue": fk.max,
        "categories": categories,
        "description": fk.description,
        "createdAt": iso(fk.created_at),
        "updatedAt": iso(fk.updated_at),
    }


def _check_name(name: str) -> str:
    if not NAME.match(name):
        raise BadRequest(
            f"config name {name[:60]!r}: at most 35 letters, digits, underscores, spaces, "
            "periods, parentheses and hyphens (Langfuse's rule)",
            field="name",
        )
    return name


def _key_config(
    kind: str, body: dict[str, Any], archived: bool, fk: FeedbackKey | None = None
) -> KeyConfig:
    """The key config a (new or changed) Langfuse config is; ``fk`` the current one."""
    if kind == "BOOLEAN" and body.get("categories"):
        raise BadRequest(
            "a BOOLEAN config's categories are True and False; do not send them",
            field="categories",
        )
    if kind != "NUMERIC" and (body.get("minValue") is not None or body.get("maxValue") is not None):
        raise BadRequest(f"minValue and maxValue apply to NUMERIC configs only, not {kind}")
    if kind != "CATEGORICAL" and kind != "BOOLEAN" and body.get("categories"):
        raise BadRequest(f"categories apply to CATEGORICAL configs only, not {kind}")
    categories = None
    if kind == "CATEGORICAL":
        given = body.get("categories")
        if given is None and fk is not None:
            categories = [(c.value, c.label) for c in fk.categories]
        else:
            categories = [(float(c["value"]), str(c["label"])) for c in given or []]

    def bound(name: str, current: float | None) -> float | None:
        return body[name] if body.get(name) is not None else current

    return KeyConfig(
        kind=KINDS[kind],
        min=bound("minValue", fk.min if fk else None) if kind == "NUMERIC" else None,
        max=bound("maxValue", fk.max if fk else None) if kind == "NUMERIC" else None,
        categories=categories,
        higher_is_better=fk.higher_is_better if fk else True,
        description=body["description"]
        if body.get("description") is not None
        else (fk.description if fk else None),
        archived=archived,
    )


async def _config(stores: Stores, project_id: str, config_id: str) -> FeedbackKey:
    found = await stores.feedback_keys.by_id(project_id, config_id)
    if found is None:
        raise NotFound(f"score config {config_id[:80]} not found", field="configId")
    return found


@endpoint
async def create(request: Request) -> Response:
    who = await principal(request, "admin")
    body = await json_body(request, CREATE)
    name = _check_name(body["name"])
    stores = services(request).stores
    if await stores.feedback_keys.get(who.project_id, name) is not None:
        raise Conflict(
            f"a config (feedback key) named {name!r} exists: Plaudit keeps one per name; "
            "change it with PATCH /api/public/score-configs/{id}",
            field="name",
        )
    config = _key_config(body["dataType"], body, archived=False)
    fk = await register_key_if_new(stores, who.project_id, name, config)
    return JSONResponse(to_json(who.project_id, fk))


@endpoint
async def list_(request: Request) -> Response:
    who = await principal(request, "read")
    page = query_int(request, "page", 1, 1, 1_000_000)
    limit = query_int(request, "limit", 50, 1, MAX_PAGE)
    keys, total = await services(request).stores.feedback_keys.page(
        who.project_id, (page - 1) * limit, limit
    )
    return JSONResponse(
        {
            "data": [to_json(who.project_id, fk) for fk in keys],
            "meta": {
                "page": page,
                "limit": limit,
                "totalItems": total,
                "totalPages": math.ceil(total / limit),
            },
        }
    )


def _path_id(request: Request) -> str:
    raw = request.path_params["config_id"]
    v.check_text(raw, "configId", v.MAX_SHORT_CHARS)
    return str(raw)


@endpoint
async def read(request: Request) -> Response:
    who = await principal(request, "read")
    fk = await _config(services(request).stores, who.project_id, _path_id(request))
    return JSONResponse(to_json(who.project_id, fk))


@endpoint
async def update(request: Request) -> Response:
    who = await principal(request, "admin")
    body = await json_body(request, UPDATE)
    stores = services(request).stores
    fk = await _config(stores, who.project_id, _path_id(request))
    if body.get("name") is not None and body["name"] != fk.key:
        raise BadRequest(
            "a config's name is its feedback key's and cannot change in Plaudit "
            "(scores refer to it by name)",
            field="name",
        )
    archived = body["isArchived"] if body.get("isArchived") is not None else fk.archived
    config = _key_config(data_type(fk), body, archived, fk)
    config.enforced = fk.enforced
    changed = await register_key(stores, who.project_id, fk.key, config)
    return JSONResponse(to_json(who.project_id, changed))


async def config_for(
    stores: Stores, project_id: str, score: dict[str, Any]
) -> tuple[FeedbackKey, bool] | None:
    """The config a score is checked against, and whether the score named it by id."""
    if score.get("configId"):
        return await _config(stores, project_id, str(score["configId"])), True
    fk = await stores.feedback_keys.get_cached(project_id, score["name"])
    return (fk, False) if fk is not None and fk.enforced else None


def check_score(score: dict[str, Any], fk: FeedbackKey, by_id: bool) -> tuple[str, Any]:
    """Langfuse's checks of a score against its config: the score's data type and
    value (a CATEGORICAL one as its category's label), or a 400 naming the rule."""
    kind = data_type(fk)
    where = f"score config {fk.key!r}"

    def violation(rule: str, message: str) -> ScoreConfigViolation:
        return ScoreConfigViolation(f"{message} ({rule})", rule=rule, configId=fk.id)

    if by_id and fk.archived:
        raise violation("archived", f"{where} is archived; restore it to score with it")
    if by_id and score["name"] != fk.key:
        raise violation(
            "name mismatch", f"the score's name {score['name']!r} is not its config's, {fk.key!r}"
        )
    given = score.get("dataType")
    if given is not None and given != kind:
        raise violation("data type mismatch", f"{where} is {kind}, the score says {given}")
    value = score["value"]
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if kind == "NUMERIC":
        if not number:
            raise violation("data type mismatch", f"{where} is NUMERIC: value must be a number")
        low = -math.inf if fk.min is None else fk.min
        high = math.inf if fk.max is None else fk.max
        if not low <= value <= high:
            raise violation(
                "value out of range", f"value {value:g} is outside {where}'s [{low:g}, {high:g}]"
            )
    elif kind == "BOOLEAN":
        if value not in (0, 1) or not number:
            raise violation("data type mismatch", f"{where} is BOOLEAN: value must be 0 or 1")
    elif kind == "CATEGORICAL":
        labels = {c.label: c.value for c in fk.categories}
        by_value = {c.value: c.label for c in fk.categories}
        if number and value in by_value:
            value = by_value[value]
        elif not isinstance(value, str) or value not in labels:
            allowed = ", ".join(f"{c.label} ({c.value:g})" for c in fk.categories)
            raise violation(
                "unknown category", f"{value!r} is not a category of {where}: one of {allowed}"
            )
    elif not isinstance(value, str):
        raise violation("data type mismatch", f"{where} is TEXT: value must be a string")
    return kind, value
