"""Login limits in tiers, counted atomically: 5 failures per account and address pair,
20 per account across addresses, 100 per address across accounts (15-minute windows)."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import httpx
import pytest
from fastapi import FastAPI
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.app import create_app
from bootstrap.settings import Settings
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


async def test_failures_on_one_account_do_not_lock_others_out_of_a_shared_address(
    connect: Connect, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """One office behind one NAT: a colleague's typos must not lock everyone else out."""
    typo_prone, colleague = await account(sessions), await account(sessions)
    async with connect(fresh_address()) as office:
        for _ in range(5):
            assert (await attempt(office, typo_prone, "wrong-password-x")).status_code == 401
        assert (await attempt(office, typo_prone, PASSWORD)).status_code == 429
        assert (await attempt(office, colleague, PASSWORD)).status_code == 200


async def test_the_locked_pair_can_still_sign_in_from_another_address(
    connect: Connect, sessions: async_sessionmaker[AsyncSession]
) -> None:
    email = await account(sessions)
    async with connect(fresh_address()) as http:
        for _ in range(6):
            await attempt(http, email, "wrong-password-x")
    async with connect(fresh_address()) as http:
        assert (await attempt(http, email, PASSWORD)).status_code == 200


async def test_account_limit_holds_across_addresses(
    connect: Connect, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """Credential stuffing: 20 failures from 20 addresses lock the account everywhere."""
    email = await account(sessions)
    for _ in range(20):
        async with connect(fresh_address()) as http:
            assert (await attempt(http, email, "wrong-password-x")).status_code == 401
    async with connect(fresh_address()) as http:
        refused = await attempt(http, email, PASSWORD)
    assert refused.status_code == 429
    assert 0 < int(refused.headers["retry-after"]) <= 900


async def test_address_limit_holds_across_accounts(
    connect: Connect, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """Password spraying: 100 failures over many accounts lock the address out."""
    emails = [await account(sessions) for _ in range(3)]
    unknown = [f"nobody-{uuid.uuid4().hex[:10]}@example.com" for _ in range(100)]
    async with connect(fresh_address()) as http:
        statuses = Counter(
            [(await attempt(http, email, "wrong-password-x")).status_code for email in unknown]
        )
        assert statuses == Counter({401: 100})
        assert (await attempt(http, emails[0], PASSWORD)).status_code == 429
    async with connect(fresh_address()) as elsewhere:
        assert (await attempt(elsewhere, emails[0], PASSWORD)).status_code == 200


async def test_a_refused_attempt_does_not_count_against_the_other_tiers(
    connect: Connect, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """A locked-out user retrying from one address does not lock their account everywhere."""
    email = await account(sessions)
    async with connect(fresh_address()) as http:
        statuses = [(await attempt(http, email, "wrong-password-x")).status_code for _ in range(40)]
    assert Counter(statuses) == Counter({401: 5, 429: 35})
    async with connect(fresh_address()) as http:
        assert (await attempt(http, email, PASSWORD)).status_code == 200


async def test_success_clears_the_account_count_but_not_the_address_count(
    connect: Connect, sessions: async_sessionmaker[AsyncSession], redis: Redis
) -> None:
    email = await account(sessions)
    address = fresh_address()
    async with connect(address) as http:
        for _ in range(4):
            assert (await attempt(http, email, "wrong-password-x")).status_code == 401
        assert (await attempt(http, email, PASSWORD)).status_code == 200
        # The pair starts over: five more failures are allowed before the sixth is refused.
        statuses = [(await attempt(http, email, "wrong-password-x")).status_code for _ in range(6)]
    assert statuses == [401] * 5 + [429]
    assert int(await redis.get(f"login-failures:address:{address}") or 0) == 9


async def test_concurrent_attempts_cannot_bypass_the_limits(
    connect: Connect, sessions: async_sessionmaker[AsyncSession]
) -> None:
    email, other = await account(sessions), await account(sessions)
    address = fresh_address()

    async def one(email: str, address: str) -> int:
        async with connect(address) as http:
            return (await attempt(http, email, "wrong-password-x")).status_code

    same_pair = Counter(await asyncio.gather(*(one(email, address) for _ in range(15))))
    across = Counter(await asyncio.gather(*(one(other, fresh_address()) for _ in range(30))))
    assert same_pair == Counter({401: 5, 429: 10})
    assert across == Counter({401: 20, 429: 10})


@pytest.mark.parametrize(
    ("tier", "limit"),
    [
        ("login_limit_per_account_and_address", 2),
        ("login_limit_per_account", 3),
        ("login_limit_per_address", 4),
    ],
)
async def test_each_limit_is_configurable(
    settings: Settings, sessions: async_sessionmaker[AsyncSession], tier: str, limit: int
) -> None:
    app = create_app(settings.model_copy(update={tier: limit}))
    email = await account(sessions)
    spread = tier == "login_limit_per_account"
    async with app.router.lifespan_context(app):
        statuses = []
        address = fresh_address()
        for n in range(limit + 1):
            target = email if tier != "login_limit_per_address" else f"x{n}-{email}"
            transport = httpx.ASGITransport(
                app=app, client=(fresh_address() if spread else address, 40000)
            )
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
                statuses.append((await attempt(http, target, "wrong-password-x")).status_code)
    assert statuses == [401] * limit + [429]
