"""Searches are recorded a flush at a time, and one address cannot flood the analytics."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.app import create_app
from api.deps import address_bucket
from bootstrap.settings import Settings

pytestmark = pytest.mark.usefixtures("reference")


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    """An API process that records 3 searches a minute per address, flushed by the test."""
    built = create_app(
        settings.model_copy(update={"search_analytics_per_minute": 3, "search_log_seconds": 3600})
    )
    async with built.router.lifespan_context(built):
        yield built


def from_address(app: FastAPI, host: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(host, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://test")


async def recorded(
    sessions: async_sessionmaker[AsyncSession], query: str
) -> list[list[dict[str, Any]]]:
    """The search.answered events holding `query`: each event's searches of it."""
    async with sessions() as session:
        events = (
            await session.scalars(
                text(
                    "SELECT event->'payload'->'searches' FROM outbox "
                    "WHERE event->>'type' = 'search.answered' AND event::text LIKE :like "
                    "ORDER BY seq"
                ),
                {"like": f"%{query}%"},
            )
        ).all()
    return [[s for s in searches if s["query"] == query] for searches in events]


async def test_a_flush_writes_one_event_for_all_its_searches(
    app: FastAPI, sessions: async_sessionmaker[AsyncSession]
) -> None:
    query = f"lamp{uuid.uuid4().hex[:8]}"
    for host in ("198.51.100.1", "198.51.100.2", "198.51.100.3"):
        async with from_address(app, host) as http:
            assert (await http.get("/api/search", params={"q": query})).is_success

    assert await app.state.searches.flush() == 3

    (searches,) = await recorded(sessions, query)
    assert len(searches) == 3
    assert len({s["search_id"] for s in searches}) == 3 and all(s["answered_at"] for s in searches)


async def test_one_address_flooding_a_query_is_recorded_only_up_to_its_share(
    app: FastAPI, sessions: async_sessionmaker[AsyncSession]
) -> None:
    query = f"flood{uuid.uuid4().hex[:8]}"
    async with from_address(app, "203.0.113.9") as flooder:
        for _ in range(10):
            assert (await flooder.get("/api/search", params={"q": query})).is_success
    # A rotating IPv6 address is one household: its /64 shares one share.
    for host in ("2001:db8:1:2::1", "2001:db8:1:2::ff", "2001:db8:1:2:aaaa::7"):
        async with from_address(app, host) as rotating:
            for _ in range(2):
                assert (await rotating.get("/api/search", params={"q": query})).is_success
    async with from_address(app, "2001:db8:1:3::1") as neighbour:
        assert (await neighbour.get("/api/search", params={"q": query})).is_success

    await app.state.searches.flush()

    (searches,) = await recorded(sessions, query)
    assert len(searches) == 3 + 3 + 1


@pytest.mark.parametrize(
    ("host", "bucket"),
    [
        ("203.0.113.9", "203.0.113.9"),
        ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),
        ("2001:DB8:1:2::", "2001:db8:1:2::/64"),
        ("::ffff:198.51.100.7", "198.51.100.7"),
        ("testclient", "testclient"),
    ],
)
def test_addresses_are_limited_by_ipv4_address_or_ipv6_64(host: str, bucket: str) -> None:
    assert address_bucket(host) == bucket
