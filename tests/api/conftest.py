"""API tests share one client address; keep one test's failed logins and coupon attempts
out of the next."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.app import create_app
from bootstrap.settings import Settings
from commerce.db import create_engine, session_factory
from tests.conftest import PASSWORD


@pytest.fixture(autouse=True)
async def forget_loopback_attempts(redis: Redis) -> AsyncIterator[None]:
    yield
    keys = [key async for key in redis.scan_iter("login-failures:*127.0.0.1")]
    keys += [key async for key in redis.scan_iter("coupon-attempts:*")]
    if keys:
        await redis.delete(*keys)


@pytest.fixture
async def shopper(client: httpx.AsyncClient) -> dict[str, str]:
    """A newly registered customer, signed in: an empty cart of their own."""
    return await register_shopper(client)


async def register_shopper(client: httpx.AsyncClient) -> dict[str, str]:
    """Register a new customer through `client`; their bearer headers."""
    body = {
        "email": f"shop{uuid.uuid4().hex[:10]}@example.com",
        "password": PASSWORD,
        "first_name": "Sam",
        "last_name": "Shopper",
    }
    response = await client.post("/api/auth/register", json=body)
    assert response.status_code == 201, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


@asynccontextmanager
async def api_on_database(
    settings: Settings, database_url: str, **changes: object
) -> AsyncIterator[tuple[httpx.AsyncClient, async_sessionmaker[AsyncSession]]]:
    """The API on a database of its own (with other settings `changes`), and sessions on it."""
    app = create_app(settings.model_copy(update={"database_url": database_url, **changes}))
    engine = create_engine(database_url)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            yield http, session_factory(engine)
    await engine.dispose()
