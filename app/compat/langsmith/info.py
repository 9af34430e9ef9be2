"""``GET /info``: what the SDK reads before it sends anything.

``use_multipart_endpoint: false`` sends runs to ``POST /runs/batch`` as plain
JSON and feedback to ``POST /feedback`` one request at a time. Plaudit does not
implement the multipart endpoint: it exists for attachments (which Plaudit does not
keep) and zstd-compressed streams, and sending feedback through it would move
feedback errors (an unknown run, a score a key does not allow) into a background
thread where the caller never sees them."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from app import __version__
from app.compat.langsmith.http import services


async def read(request: Request) -> Response:
    # Leave room for the JSON around the runs in one batch.
    size_limit = max(1024, services(request).settings.max_body_bytes * 9 // 10)
    return JSONResponse(
        {
            "version": __version__,
            "license_expiration_time": None,
            "batch_ingest_config": {
                "use_multipart_endpoint": False,
                "size_limit": 100,
                "size_limit_bytes": size_limit,
                "scale_up_qsize_trigger": 200,
                "scale_up_nthreads_limit": 4,
                "scale_down_nempty_trigger": 4,
            },
            # The v1 query endpoints (/runs/{id}, /runs/query) are the ones served.
            "instance_flags": {
                "zstd_compression_enabled": False,
                "ch_query_enabled": True,
                "sdb_query_enabled": False,
            },
        }
    )
