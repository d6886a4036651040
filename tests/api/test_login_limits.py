"""Login rate limits: 5 failures per 15 minutes per account and per address, atomically."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from commerce.db import transaction
from commerce.identity.service import create_user
from tests.conftest import PASSWORD

pytestmark = pytest.mark.usefixtures("reference")

Connect = Callable[[str], AbstractAsyncContextManager[httpx.AsyncClient]]


@pytest.fixture
def connect(client: httpx.AsyncClient) -> Connect:
    """A client whose requests come from `address` (each test uses fresh addresses)."""
    app: FastAPI = client._transport.app  # type: ignore[attr-defined]

    @asynccontextmanager
    async def from_address(address: str) -> AsyncIterator[httpx.AsyncClient]:
        transport = httpx.ASGITransport(app=app, client=(address, 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            yield http

    return from_address


def fresh_address() -> str:
    value = uuid.uuid4().int
    return f"10.{value % 250}.{value // 250 % 250}.{value // 62500 % 250 + 1}"


async def account(sessions: async_sessionmaker[AsyncSession]) -> str:
    email = f"limit-{uuid.uuid4().hex[:10]}@example.com"
    async with transaction(sessions) as session:
        await create_user(session, email, PASSWORD, role="CUSTOMER")
    return email


async def attempt(http: httpx.AsyncClient, email: str, password: str) -> httpx.Response:
    return await http.post("/api/auth/login", json={"email": email, "password": password})


async def test_sixth_failure_is_429_with_retry_after(
    connect: Connect, sessions: async_sessionmaker[AsyncSession]
) -> None:
    email = await account(sessions)
    async with connect(fresh_address()) as http:
        statuses = [(await attempt(http, email, "wrong-password-x")).status_code for _ in range(5)]
        blocked = await attempt(http, email, "wrong-password-x")
        right_but_blocked = await attempt(http, email, PASSWORD)

    assert statuses == [401] * 5
    assert blocked.status_code == 429
    assert 0 < int(blocked.headers["retry-after"]) <= 900
    assert blocked.headers["content-type"].startswith("application/problem+json")
    assert right_but_blocked.status_code == 429


async def test_account_limit_holds_across_addresses(
    connect: Connect, sessions: async_sessionmaker[AsyncSession]
) -> None:
    email = await account(sessions)
    for _ in range(5):
        async with connect(fresh_address()) as http:
            assert (await attempt(http, email, "wrong-password-x")).status_code == 401
    async with connect(fresh_address()) as http:
        assert (await attempt(http, email, PASSWORD)).status_code == 429


async def test_address_limit_holds_across_accounts(
    connect: Connect, sessions: async_sessionmaker[AsyncSession]
) -> None:
    emails = [await account(sessions) for _ in range(6)]
    async with connect(fresh_address()) as http:
        for email in emails[:5]:
            assert (await attempt(http, email, "wrong-password-x")).status_code == 401
        assert (await attempt(http, emails[5], PASSWORD)).status_code == 429


async def test_success_clears_the_account_count_but_not_the_address_count(
    connect: Connect, sessions: async_sessionmaker[AsyncSession]
) -> None:
    email, other = await account(sessions), await account(sessions)
    address = fresh_address()
    async with connect(address) as http:
        for _ in range(4):
            assert (await attempt(http, email, "wrong-password-x")).status_code == 401
        assert (await attempt(http, email, PASSWORD)).status_code == 200
    # The account starts over: four more failures from elsewhere are still allowed.
    for _ in range(4):
        async with connect(fresh_address()) as http:
            assert (await attempt(http, email, "wrong-password-x")).status_code == 401
    # The address keeps its four failures: one more is allowed, the next is refused.
    async with connect(address) as http:
        assert (await attempt(http, other, "wrong-password-x")).status_code == 401
        assert (await attempt(http, other, PASSWORD)).status_code == 429


async def test_concurrent_attempts_cannot_bypass_the_limit(
    connect: Connect, sessions: async_sessionmaker[AsyncSession]
) -> None:
    email = await account(sessions)

    async def one() -> int:
        async with connect(fresh_address()) as http:
            return (await attempt(http, email, "wrong-password-x")).status_code

    statuses = Counter(await asyncio.gather(*(one() for _ in range(20))))
    assert statuses == Counter({401: 5, 429: 15})
