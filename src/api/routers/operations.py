"""For operators: liveness, readiness of every dependency, and Prometheus metrics."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiokafka import AIOKafkaClient
from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, Gauge, generate_latest
from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from api.deps import Search
from api.problems import PROBLEM_JSON
from streams.monitoring import pipeline_status
from streams.relay import bootstrap_servers

router = APIRouter(tags=["operations"])

READY_TIMEOUT = 2.0

OUTBOX_BACKLOG = Gauge("storefront_outbox_backlog", "Outbox rows not yet published.")
CONSUMER_LAG = Gauge(
    "storefront_consumer_lag_events", "Events a consumer has not applied yet.", ["consumer"]
)
CONSUMER_CHECKPOINT = Gauge(
    "storefront_consumer_checkpoint_seq",
    "The outbox seq below which a consumer has applied everything.",
    ["consumer"],
)
DEAD_LETTERS = Gauge("storefront_dead_letters", "Dead letters kept, by topic.", ["topic"])
PIPELINE_READ = Gauge(
    "storefront_pipeline_state_read", "1 when the pipeline gauges were read from PostgreSQL."
)


@router.get("/api/health")
async def health() -> dict[str, str]:
    """Liveness: the process answers. Dependencies are `/api/health/ready`'s job."""
    return {"status": "ok"}


async def _timed(check: Callable[[], Awaitable[Any]]) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        detail = await asyncio.wait_for(check(), READY_TIMEOUT)
    except Exception as error:
        return {"up": False, "error": f"{type(error).__name__}: {error}"[:300]}
    result: dict[str, Any] = {"up": True, "ms": round((time.perf_counter() - started) * 1000, 1)}
    if detail is not None:
        result["detail"] = detail
    return result


async def _broker(kafka_url: str) -> None:
    client = AIOKafkaClient(bootstrap_servers=bootstrap_servers(kafka_url), request_timeout_ms=2000)
    try:
        await client.bootstrap()
    finally:
        await client.close()


@router.get(
    "/api/health/ready",
    responses={503: {"description": "A dependency is down", "content": {PROBLEM_JSON: {}}}},
)
async def ready(request: Request, search: Search) -> Response:
    """PostgreSQL, Redis, the broker and the search index, each checked; 503 if one is down."""
    state = request.app.state
    redis: Redis = state.redis

    async def postgres() -> None:
        async with state.sessions() as session:
            await session.execute(text("SELECT 1"))

    async def pong() -> None:
        await redis.ping()

    async def index() -> str:
        return f"{await search.document_count()} documents"

    checks = {"postgres": postgres, "redis": pong, "index": index}
    kafka_url = state.settings.kafka_url
    if kafka_url:
        checks["broker"] = lambda: _broker(kafka_url)
    results = dict(
        zip(checks, await asyncio.gather(*(_timed(c) for c in checks.values())), strict=True)
    )
    down = sorted(name for name, result in results.items() if not result["up"])
    if not down:
        return JSONResponse({"status": "ready", "checks": results})
    problem = {
        "type": "about:blank",
        "title": "Service Unavailable",
        "status": 503,
        "detail": f"Down: {', '.join(down)}.",
        "instance": request.url.path,
        "checks": results,
    }
    return JSONResponse(problem, status_code=503, media_type=PROBLEM_JSON)


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "Prometheus text"}},
)
async def metrics(request: Request) -> Response:
    """Prometheus metrics of this API process, plus the pipeline's state from PostgreSQL."""
    try:
        async with request.app.state.sessions() as session:
            status = await asyncio.wait_for(pipeline_status(session), READY_TIMEOUT)
    except (OSError, TimeoutError, SQLAlchemyError):
        # PostgreSQL down or slow: the process's own metrics still answer, the pipeline's
        # gauges say they could not be read.
        PIPELINE_READ.set(0)
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
    PIPELINE_READ.set(1)
    OUTBOX_BACKLOG.set(status.outbox_backlog)
    for lag in status.consumers:
        CONSUMER_LAG.labels(lag.consumer).set(lag.behind)
        CONSUMER_CHECKPOINT.labels(lag.consumer).set(lag.checkpoint)
    for topic, count in status.dead_letters.items():
        DEAD_LETTERS.labels(topic).set(count)
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
