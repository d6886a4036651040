"""API tests share one client address; keep one test's failed logins and coupon attempts
out of the next."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from redis.asyncio import Redis

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
