"""For operators: liveness, readiness of every dependency, and Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from api.metrics import read_pipeline
from api.problems import PROBLEM_JSON, problem, responses
from api.readiness import Readiness
from commerce.identity.context import Principal
from commerce.identity.permissions import Permission

router = APIRouter(tags=["operations"])


@router.get("/api/health")
async def health() -> dict[str, str]:
    """Liveness: the process answers. Dependencies are `/api/health/ready`'s job."""
    return {"status": "ok"}


@router.get(
    "/api/health/ready",
    responses={
        **responses(401),  # a token that is sent must be good
        503: {"description": "A dependency is down", "content": {PROBLEM_JSON: {}}},
    },
)
async def ready(request: Request) -> Response:
    """PostgreSQL, Redis, the broker and the search index, each up or down; 503 if one is
    down. Staff with VIEW_DASHBOARD also get timings, details and errors. Checked at most
    once per `STOREFRONT_READY_CACHE_SECONDS` per process."""
    readiness: Readiness = request.app.state.readiness
    report = await readiness.report()
    principal: Principal | None = getattr(request.state, "principal", None)
    staff = principal is not None and Permission.VIEW_DASHBOARD in principal.permissions
    checks = report.checks if staff else report.public()
    if not report.down:
        return JSONResponse({"status": "ready", "checks": checks})
    detail = f"Down: {', '.join(report.down)}."
    return problem(request, 503, "Service Unavailable", detail, checks=checks)


@router.get(
    "/metrics",
    response_class=Response,
    responses={
        200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "Prometheus text"},
        **responses(401, 403),
    },
)
async def metrics(request: Request) -> Response:
    """Prometheus metrics of this API process, plus the pipeline's state from PostgreSQL
    (VIEW_DASHBOARD; a local agent scrapes `STOREFRONT_API_METRICS_PORT` without a token)."""
    await read_pipeline(request.app.state.sessions)
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
