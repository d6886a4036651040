"""The FastAPI application: `create_app(settings)` and a lifespan that owns every client."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI
from fastapi.openapi.utils import get_openapi

from api import problems
from api.access import (
    BEARER_SCHEME,
    api_routes,
    check_policy_covers,
    document_security,
    enforce_policy,
)
from api.body_limit import BodyLimit
from api.checkout_gate import CheckoutGate
from api.methods import AllowedMethods
from api.metrics import LoopbackMetrics
from api.observability import RequestObservability
from api.readiness import Readiness
from api.routers import (
    admin_page,
    carts,
    catalog,
    coupons,
    dashboards,
    identity,
    imports,
    inventory,
    notifications,
    operations,
    orders,
    rewards,
    search,
    search_admin,
    sockets,
    tracking,
)
from api.sockets import PushHub
from api.text_guard import document_no_nul, reject_nul_characters
from bootstrap import wiring
from bootstrap.settings import Settings
from commerce.notifications.channel import PushChannel
from commerce.tracking.searches import SearchLog


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    settings.signing_key()  # refuse to build an API anyone could forge tokens for

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        parts = wiring.adapters(settings)
        app.state.settings = settings
        app.state.sessions = parts.sessions
        app.state.redis = parts.redis
        app.state.cache = parts.catalog_cache
        app.state.identity = wiring.identity_context(settings, parts.redis)
        app.state.search = parts.search
        app.state.stock_index = parts.stock
        app.state.search_results = parts.search_results
        app.state.payments = parts.payments
        app.state.searches = SearchLog(
            parts.sessions, per_address=settings.search_analytics_per_minute
        )
        app.state.push_hub = PushHub(PushChannel(parts.redis, settings.pushes_kept))
        app.state.checkout_gate = CheckoutGate(
            parts.sessions, settings.checkout_pause_after_seconds
        )
        app.state.readiness = Readiness(settings, parts.sessions, parts.redis, parts.search)
        # Everything built so far lives as long as the process: keep it out of the
        # collector's full passes, which otherwise stalled requests ~90 ms at p99.
        gc.collect()
        gc.freeze()
        tasks = [
            asyncio.create_task(parts.catalog_cache.follow_invalidations()),
            asyncio.create_task(app.state.searches.run(settings.search_log_seconds)),
            asyncio.create_task(app.state.push_hub.run()),
        ]
        metrics = LoopbackMetrics(
            settings.api_metrics_host, settings.api_metrics_port, parts.sessions
        )
        if settings.api_metrics_port:
            metrics.start()
            tasks.append(asyncio.create_task(metrics.refresh()))
        try:
            yield
        finally:
            await _stop(tasks)
            await asyncio.to_thread(metrics.stop)
            await app.state.readiness.aclose()
            await parts.aclose()

    app = FastAPI(
        title="storefront",
        version="0.1.0",
        lifespan=lifespan,
        dependencies=[Depends(enforce_policy), Depends(reject_nul_characters)],
        description="Search-and-analytics-heavy storefront backend. Errors are RFC 9457 problems.",
    )
    problems.install(app)
    for router in (
        operations.router,
        catalog.router,
        search.router,
        search_admin.router,
        inventory.router,
        imports.router,
        coupons.router,
        carts.router,
        orders.router,
        orders.admin,
        identity.auth,
        identity.admin,
        notifications.router,
        rewards.router,
        tracking.router,
        dashboards.router,
        admin_page.router,
    ):
        app.include_router(router)
    app.router.routes.append(sockets.route)
    app.mount("/admin/assets", admin_page.assets, name="admin-assets")
    check_policy_covers(app)
    document_security(app)
    problems.document_malformed_bodies(app)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    app.add_middleware(AllowedMethods, routes=list(api_routes(app.routes)))
    app.add_middleware(RequestObservability)
    app.add_middleware(
        BodyLimit, default=settings.max_body_bytes, by_path={imports.PATH: imports.MAX_UPLOAD}
    )
    return app


async def _stop(tasks: list[asyncio.Task[None]], grace: float = 2.0, seconds: float = 5.0) -> None:
    """Cancel the background tasks and wait for them to end.

    Stragglers after `grace` are cancelled again: a cancel that lands while redis-py's
    pub/sub subscribes can be swallowed (redis-py #2028, #2551), which once left a shutdown
    waiting forever.
    """
    for task in tasks:
        task.cancel()
    _, pending = await asyncio.wait(tasks, timeout=grace)
    deadline = asyncio.get_running_loop().time() + seconds - grace
    while pending and asyncio.get_running_loop().time() < deadline:
        for task in pending:
            task.cancel()
        _, pending = await asyncio.wait(pending, timeout=0.1)


def _openapi(app: FastAPI) -> dict[str, Any]:
    """The generated document plus the bearer scheme that `document_security` refers to."""
    if app.openapi_schema is None:
        schema = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes
        )
        schema.setdefault("components", {}).setdefault("securitySchemes", {}).update(BEARER_SCHEME)
        document_no_nul(schema["paths"])
        document_no_nul(schema["components"].get("schemas", {}))
        app.openapi_schema = schema
    return app.openapi_schema
