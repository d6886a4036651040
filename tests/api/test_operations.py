"""Liveness, readiness, metrics and request ids, as an operator sees them."""

from __future__ import annotations

import asyncio
import json
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.app import create_app
from bootstrap.settings import Settings
from commerce.outbox import OutboxRow
from storefront.embedded import free_port
from storefront.processes import WorkerProcess
from tests.conftest import eventually
from tests.factories import create_product, search

pytestmark = pytest.mark.usefixtures("reference")


async def test_every_response_carries_a_request_id(client: httpx.AsyncClient) -> None:
    fresh = await client.get("/api/health")
    echoed = await client.get("/api/health", headers={"X-Request-ID": "checkout-42.a_b"})
    refused = await client.get("/api/health", headers={"X-Request-ID": "bad id\nwith lines"})
    assert len(fresh.headers["x-request-id"]) == 32
    assert echoed.headers["x-request-id"] == "checkout-42.a_b"
    assert refused.headers["x-request-id"] not in ("", "bad id\nwith lines")


async def test_the_request_id_travels_into_the_event_and_the_worker_log(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    sessions: async_sessionmaker[AsyncSession],
    worker: WorkerProcess,
) -> None:
    request_id = f"trace-{uuid.uuid4().hex[:12]}"
    product = await create_product(client, admin, request_id=request_id)

    async with sessions() as session:
        events = (
            await session.scalars(select(OutboxRow.event).where(OutboxRow.key == product["id"]))
        ).all()
    assert [event["trace_id"] for event in events] == [request_id]

    def worker_lines() -> list[dict[str, Any]]:
        lines = worker.log_path.read_text().splitlines()
        return [json.loads(line) for line in lines if line.startswith("{")]

    async def traced() -> list[dict[str, Any]]:
        return [line for line in worker_lines() if request_id in line.get("trace_ids", [])]

    projections = {"search", "warehouse", "cache", "stock"}
    applied = await eventually(
        traced, lambda lines: {line["consumer"] for line in lines} >= projections, timeout=60
    )
    assert all(line["process"] == "worker" for line in applied)


async def test_metrics_show_requests_by_route_template_search_caches_and_the_pipeline(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    product = await create_product(client, admin)
    await client.get(f"/api/products/{product['id']}")
    await client.get(f"/api/products/{product['id']}")
    await search(client, q="lantern")

    text = (await client.get("/metrics", headers=admin)).text

    assert 'route="/api/products/{product_id}"' in text
    assert product["id"] not in text, "raw paths would explode the label set"
    assert "storefront_search_duration_seconds_count" in text
    assert 'storefront_cache_lookups_total{cache="catalog_item",result="hit"}' in text
    assert 'storefront_cache_lookups_total{cache="catalog_item",result="miss"}' in text
    assert "storefront_outbox_backlog" in text
    assert 'storefront_consumer_lag_events{consumer="search"}' in text


async def test_a_local_agent_scrapes_the_metrics_port_without_a_token(settings: Settings) -> None:
    port = free_port()
    app = create_app(settings.model_copy(update={"api_metrics_port": port}))
    async with httpx.AsyncClient() as http:
        async with app.router.lifespan_context(app):
            scraped = await eventually(
                lambda: http.get(f"http://127.0.0.1:{port}/metrics"),
                lambda r: "storefront_consumer_lag_events{" in r.text,
            )
        assert scraped.status_code == 200
        assert "storefront_pipeline_state_read 1.0" in scraped.text
    async with httpx.AsyncClient() as http:
        with pytest.raises(httpx.ConnectError):  # stopped with the app
            await http.get(f"http://127.0.0.1:{port}/metrics")


EVERY_PART = {"postgres", "redis", "broker", "index", "rates"}


async def test_ready_checks_every_dependency(
    client: httpx.AsyncClient, accounts: dict[str, dict[str, str]]
) -> None:
    response = await client.get("/api/health/ready")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "ready"
    assert body["checks"] == {part: {"up": True} for part in EVERY_PART}, "no details"
    staff = await client.get("/api/health/ready", headers=accounts["STAFF"])
    details = staff.json()["checks"]
    assert {name for name, check in details.items() if check["up"]} == EVERY_PART
    assert details["postgres"]["ms"] >= 0 and "documents" in details["index"]["detail"]
    customer = await client.get("/api/health/ready", headers=accounts["CUSTOMER"])
    assert customer.json()["checks"] == body["checks"]


async def test_ready_checks_once_per_window_through_one_broker_client(
    settings: Settings, accounts: dict[str, dict[str, str]]
) -> None:
    app = create_app(settings.model_copy(update={"ready_cache_seconds": 30}))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            readings = await asyncio.gather(
                *(http.get("/api/health/ready", headers=accounts["STAFF"]) for _ in range(20))
            )
            readiness = app.state.readiness
            client = readiness.broker.client
            assert {r.json()["checks"]["postgres"]["ms"] for r in readings} == {
                readings[0].json()["checks"]["postgres"]["ms"]
            }, "one check answered all twenty"
            readiness.checked_at = 0.0  # the window has passed
            await http.get("/api/health/ready")
            assert readiness.broker.client is client, "the broker client is kept, not reopened"


@contextmanager
def refusing_port() -> Iterator[int]:
    """A port bound but not listening: connections are refused at once, and no server
    started meanwhile (tests launch many) can take it and leave a client waiting."""
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        yield int(closed.getsockname()[1])


async def test_ready_is_503_naming_what_is_down(settings: Settings) -> None:
    with refusing_port() as port:
        app = create_app(settings.model_copy(update={"redis_url": f"redis://127.0.0.1:{port}/0"}))
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
                response = await http.get("/api/health/ready")
                alive = await http.get("/api/health")
    assert response.status_code == 503
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["detail"] == "Down: redis."
    assert body["checks"]["postgres"]["up"] and body["checks"]["index"]["up"]
    assert body["checks"]["redis"] == {"up": False}, "no error text for anonymous callers"
    assert alive.status_code == 200, "liveness does not depend on Redis"
