"""API tests share one client address; keep one test's failed logins out of the next."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis


@pytest.fixture(autouse=True)
async def forget_loopback_login_failures(redis: Redis) -> AsyncIterator[None]:
    yield
    keys = [key async for key in redis.scan_iter("login-failures:*127.0.0.1")]
    if keys:
        await redis.delete(*keys)
