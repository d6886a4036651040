"""Secrets stay in PostgreSQL: nothing a login caches in Redis holds a password hash."""

from __future__ import annotations

import inspect
import uuid

import httpx
import pytest
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from commerce.db import transaction
from commerce.identity.service import create_user
from tests.conftest import PASSWORD, sign_in

pytestmark = pytest.mark.usefixtures("reference")


async def test_no_password_hash_reaches_redis(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession], redis: Redis
) -> None:
    email = f"secret-{uuid.uuid4().hex[:8]}@example.com"
    async with transaction(sessions) as session:
        user = await create_user(session, email, PASSWORD, role="CUSTOMER")
    await sign_in(client, email)
    await client.post("/api/auth/login", json={"email": email, "password": "wrong-password-x"})

    leaked = []
    async for key in redis.scan_iter(count=1000):
        if await redis.type(key) == b"string":
            value = await redis.get(key) or b""
            if b"$argon2" in value or b"$2b$" in value or user.password_hash.encode() in value:
                leaked.append(key)
    assert leaked == []


def test_creating_a_user_needs_an_explicit_role() -> None:
    """Fail closed: a caller that forgets the role must not get a SUPER_ADMIN."""
    role = inspect.signature(create_user).parameters["role"]
    assert role.default is inspect.Parameter.empty
    assert role.kind is inspect.Parameter.KEYWORD_ONLY
