from __future__ import annotations

from dataclasses import replace

import httpx

from app.main import create_app
from app.settings import Settings


async def test_metrics_count_requests_by_route_template(http: httpx.AsyncClient) -> None:
    await http.get("/healthz")
    await http.get("/no/such/path/123")
    # httpx's ASGI transport reports the client as 127.0.0.1: loopback is allowed.
    body = (await http.get("/metrics")).text
    assert 'plaudit_http_requests_total{method="GET",route="/healthz",status="200"}' in body
    assert 'route="unmatched",status="404"' in body
    assert "/no/such/path/123" not in body
    assert "plaudit_http_request_duration_seconds_bucket" in body


async def test_metrics_token(settings: Settings, sync_db: object) -> None:
    app = create_app(replace(settings, metrics_token="scrape-secret"))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            assert (await http.get("/metrics")).status_code == 401
            wrong = await http.get("/metrics", headers={"Authorization": "Bearer nope"})
            assert wrong.status_code == 401 and wrong.json()["error"] == "unauthenticated"
            ok = await http.get("/metrics", headers={"Authorization": "Bearer scrape-secret"})
            assert ok.status_code == 200 and "plaudit_http_requests_total" in ok.text


async def test_metrics_refused_to_remote_clients_without_token(
    settings: Settings, sync_db: object
) -> None:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=("203.0.113.9", 5000))
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            response = await http.get("/metrics")
            assert response.status_code == 403
            assert "PLAUDIT_METRICS_TOKEN" in response.json()["message"]
