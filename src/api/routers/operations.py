"""For operators: liveness, readiness of every dependency, and Prometheus metrics."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from datetime import UTC, datetime

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, Gauge, generate_latest
from sqlalchemy.exc import SQLAlchemyError

from api.deps import Search
from api.problems import PROBLEM_JSON, problem
from commerce.currency import service as rates
from storefront import probes
from streams.monitoring import pipeline_status

router = APIRouter(tags=["operations"])

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


@router.get(
    "/api/health/ready",
    responses={503: {"description": "A dependency is down", "content": {PROBLEM_JSON: {}}}},
)
async def ready(request: Request, search: Search) -> Response:
    """PostgreSQL, Redis, the broker and the search index, each checked; 503 if one is down."""
    state = request.app.state

    async def index() -> str:
        return f"{await search.document_count()} documents"

    checks: dict[str, Callable[[], Awaitable[str | None]]] = {
        "postgres": lambda: probes.postgres(state.sessions),
        "redis": lambda: probes.redis(state.redis),
        "index": index,
    }
    if kafka_url := state.settings.kafka_url:
        checks["broker"] = lambda: probes.broker(kafka_url)
    found = await asyncio.gather(*(probes.probe(check) for check in checks.values()))
    results = {
        name: {k: v for k, v in asdict(result).items() if v is not None}
        for name, result in zip(checks, found, strict=True)
    }
    down = sorted(name for name, result in zip(checks, found, strict=True) if not result.up)
    if "redis" not in down and "postgres" not in down:
        results["rates"] = await _rates_age(request)
    if not down:
        return JSONResponse({"status": "ready", "checks": results})
    return problem(request, 503, "Service Unavailable", f"Down: {', '.join(down)}.", checks=results)


async def _rates_age(request: Request) -> dict[str, object]:
    """The exchange rates' day: older than allowed is reported (prices still convert)."""
    state = request.app.state
    table = await rates.current_rates(
        state.sessions, state.redis, ttl=state.settings.rates_cache_seconds
    )
    age = rates.age_in_days(table, datetime.now(UTC).date())
    stale = age > state.settings.rates_max_age_days
    return {
        "up": True,
        "date": table.date.isoformat(),
        "age_days": age,
        "source": table.source,
        "status": "stale: run `storefront rates refresh`" if stale else "current",
    }


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "Prometheus text"}},
)
async def metrics(request: Request) -> Response:
    """Prometheus metrics of this API process, plus the pipeline's state from PostgreSQL."""
    try:
        async with request.app.state.sessions() as session:
            status = await asyncio.wait_for(pipeline_status(session), probes.TIMEOUT)
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
