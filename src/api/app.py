"""The FastAPI application: `create_app(settings)` and a lifespan that owns every client."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI
from redis.asyncio import Redis

from api import problems
from api.access import check_policy_covers, enforce_policy
from api.routers import access_admin, admin, auth, catalog, search
from api.text_guard import reject_nul_characters
from commerce.db import create_engine, session_factory
from search.tantivy_backend import TantivyBackend
from storefront.settings import Settings
from storefront.wiring import catalog_cache, identity_context

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if settings.uses_dev_jwt_secret:
            log.warning("STOREFRONT_JWT_SECRET is the development default: set it in production")
        engine = create_engine(settings.require("database_url"))
        redis = Redis.from_url(settings.require("redis_url"))
        app.state.settings = settings
        app.state.sessions = session_factory(engine)
        app.state.cache = catalog_cache(settings, redis)
        app.state.identity = identity_context(settings, redis)
        app.state.search = TantivyBackend(settings.search_dir)
        try:
            yield
        finally:
            await app.state.search.close()
            await redis.aclose()
            await engine.dispose()

    app = FastAPI(
        title="storefront",
        version="0.1.0",
        lifespan=lifespan,
        dependencies=[Depends(enforce_policy), Depends(reject_nul_characters)],
        description="Search-and-analytics-heavy storefront backend. Errors are RFC 9457 problems.",
    )
    problems.install(app)
    app.include_router(catalog.router)
    app.include_router(search.router)
    app.include_router(admin.router)
    app.include_router(auth.router)
    app.include_router(access_admin.router)

    @app.get("/api/health", tags=["meta"])
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    check_policy_covers(app)
    return app
