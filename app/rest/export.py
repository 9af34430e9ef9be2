"""GET /export/FORMAT: the export as a streaming JSON Lines download.

Authorization: Bearer <API key with read access>. Query parameters: key, since,
sources, group_by, max_pairs_per_prompt (as for `plaudit export`). Everything that
can be wrong is checked before the first byte, so errors are ordinary 4xx JSON
bodies; the body then streams from database cursors and memory stays flat.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from app.decoding import check_query_string
from app.domain.auth import authenticate, bearer_secret
from app.domain.export.formats import prepare_export
from app.domain.export.options import parse_options
from app.domain.export.stream import jsonl_chunks
from app.errors import BadRequest, Unauthenticated
from app.services import Services

PARAMETERS = ("key", "since", "sources", "group_by", "max_pairs_per_prompt")


async def export_download(request: Request) -> Response:
    services: Services = request.app.state.services
    header = request.headers.get("authorization")
    secret = bearer_secret(header)
    if secret is None:
        raise Unauthenticated("send Authorization: Bearer <API key with read access>")
    principal = await authenticate(services.stores, services.key_cache, secret)
    principal.require("read")
    check_query_string(request.scope["query_string"])
    unknown = sorted(set(request.query_params) - set(PARAMETERS))
    if unknown:
        raise BadRequest(
            f"unknown query parameter {unknown[0]!r}; parameters are {', '.join(PARAMETERS)}"
        )
    params = {name: request.query_params.get(name) for name in PARAMETERS}
    options = parse_options(request.path_params["format"], **params)
    export = await prepare_export(services.stores, principal.project_id, options)
    return StreamingResponse(
        jsonl_chunks(export.records()),
        media_type="application/x-ndjson; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="plaudit-{options.format}.jsonl"',
            "Cache-Control": "no-store",
        },
    )
