"""POST /api/events: client events reach the outbox whole, or not at all, and are rate
limited per address."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from analytics.warehouse import open_warehouse
from api.app import create_app
from bootstrap.settings import Settings
from commerce.outbox import OutboxRow
from commerce.tracking.errors import TooManyEvents
from commerce.tracking.service import admit
from storefront.processes import WorkerProcess
from tests.conftest import eventually
from tests.served import served

RATE_KEY = "events-rate:127.0.0.1"


@pytest.fixture(autouse=True)
async def fresh_rate_window(redis: Redis) -> AsyncIterator[None]:
    await redis.delete(RATE_KEY)
    yield
    await redis.delete(RATE_KEY)


def a_session() -> str:
    return f"web-{uuid.uuid4().hex}"


async def tracked(
    sessions: async_sessionmaker[AsyncSession], session_id: str
) -> list[dict[str, Any]]:
    """The outbox rows of one browsing session's events, oldest first."""
    async with sessions() as session:
        rows = await session.scalars(
            select(OutboxRow).where(OutboxRow.key == session_id).order_by(OutboxRow.seq)
        )
        return [{"topic": row.topic, **row.event} for row in rows]


async def test_a_batch_reaches_the_outbox_in_order_on_the_activity_topic(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    session_id, product = a_session(), str(uuid.uuid4())
    batch = {
        "session_id": session_id,
        "events": [
            {"type": "product_viewed", "product_id": product},
            {
                "type": "search_result_clicked",
                "query": " tent ",
                "product_id": product,
                "position": 3,
            },
            {"type": "cart_viewed"},
            {"type": "checkout_started"},
        ],
    }

    response = await client.post("/api/events", json=batch)

    assert response.status_code == 202, response.text
    assert response.json() == {"accepted": 4}
    events = await tracked(sessions, session_id)
    assert [(e["topic"], e["type"]) for e in events] == [
        ("activity", "activity.product_viewed"),
        ("activity", "activity.search_result_clicked"),
        ("activity", "activity.cart_viewed"),
        ("activity", "activity.checkout_started"),
    ]
    click = events[1]["payload"]
    assert (click["query"], click["position"], click["product_id"]) == ("tent", 3, product)
    assert all(e["payload"]["customer_id"] is None for e in events), "anonymous"


async def test_a_signed_in_shoppers_events_name_them(
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    shopper: dict[str, str],
) -> None:
    session_id = a_session()
    me = (await client.get("/api/auth/me", headers=shopper)).json()
    batch = {"session_id": session_id, "events": [{"type": "cart_viewed"}]}

    response = await client.post("/api/events", json=batch, headers=shopper)

    assert response.status_code == 202, response.text
    [event] = await tracked(sessions, session_id)
    assert event["payload"]["customer_id"] == me["id"]


@pytest.mark.parametrize(
    ("events", "where"),
    [
        ([{"type": "cart_viewed"}, {"type": "product_viewed"}], ["events", 1, "product_viewed"]),
        (
            [{"type": "cart_viewed"}] * 2
            + [{"type": "search_result_clicked", "query": "x", "product_id": str(uuid.uuid4())}],
            ["events", 2, "search_result_clicked", "position"],
        ),
        ([{"type": "page_scrolled"}], ["events", 0]),
        ([{"type": "cart_viewed", "card_number": "4242"}], ["events", 0, "cart_viewed"]),
        ([], ["events"]),
        ([{"type": "cart_viewed"}] * 101, ["events"]),
    ],
    ids=["missing-product", "missing-position", "unknown-type", "extra-field", "empty", "101"],
)
async def test_a_bad_event_is_a_422_naming_its_index_and_field_and_nothing_is_kept(
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    events: list[dict[str, Any]],
    where: list[Any],
) -> None:
    session_id = a_session()

    response = await client.post("/api/events", json={"session_id": session_id, "events": events})

    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    locations = [error["loc"] for error in response.json()["errors"]]
    assert any(loc[1 : 1 + len(where)] == where for loc in locations), locations
    assert await tracked(sessions, session_id) == []


@pytest.mark.parametrize("session_id", ["short", "has spaces in it", "x" * 65, ""])
async def test_a_bad_session_id_is_a_422(client: httpx.AsyncClient, session_id: str) -> None:
    batch = {"session_id": session_id, "events": [{"type": "cart_viewed"}]}
    response = await client.post("/api/events", json=batch)
    assert response.status_code == 422, response.text


async def test_an_address_over_its_batches_a_minute_gets_429_with_retry_after(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession], redis: Redis
) -> None:
    await redis.set(RATE_KEY, 120, ex=60)  # this minute's 120 batches already came
    session_id = a_session()

    response = await client.post(
        "/api/events", json={"session_id": session_id, "events": [{"type": "cart_viewed"}]}
    )

    assert response.status_code == 429, response.text
    assert 1 <= int(response.headers["Retry-After"]) <= 60
    assert await tracked(sessions, session_id) == []


async def test_the_limit_counts_batches_per_address_in_a_minute(redis: Redis) -> None:
    address = f"198.51.100.{uuid.uuid4().int % 250}"
    await redis.delete(f"events-rate:{address}")
    for _ in range(3):
        await admit(redis, address, per_minute=3)
    with pytest.raises(TooManyEvents) as refused:
        await admit(redis, address, per_minute=3)
    assert 1 <= refused.value.retry_after <= 60
    await admit(redis, "203.0.113.9", per_minute=3)  # another address has its own count
    await redis.delete(f"events-rate:{address}", "events-rate:203.0.113.9")


async def test_the_worker_keeps_a_batch_in_the_warehouse_once(
    client: httpx.AsyncClient, settings: Settings, worker: WorkerProcess
) -> None:
    session_id, product = a_session(), str(uuid.uuid4())
    batch = {
        "session_id": session_id,
        "events": [{"type": "product_viewed", "product_id": product}, {"type": "cart_viewed"}],
    }
    assert (await client.post("/api/events", json=batch)).status_code == 202

    async def kept() -> list[tuple[str, str | None]]:
        with open_warehouse(settings.warehouse_dir) as warehouse:
            rows = warehouse.execute(
                "SELECT event, product_id FROM fact_client_events WHERE session_id = ? "
                "ORDER BY event_seq",
                [session_id],
            ).fetchall()
        return [(row[0], row[1]) for row in rows]

    assert await eventually(kept, lambda rows: len(rows) >= 2) == [
        ("product_viewed", product),
        ("cart_viewed", None),
    ]


async def test_searches_reach_the_warehouse_with_their_result_counts(
    client: httpx.AsyncClient, settings: Settings, worker: WorkerProcess
) -> None:
    session_id, nonsense = a_session(), f"zzq{uuid.uuid4().hex[:10]}"
    headers = {"X-Session-Id": session_id}
    assert (await client.get("/api/search", params={"q": nonsense}, headers=headers)).is_success
    given = {"q": nonsense, "in_stock": "true", "page": 2}
    assert (await client.get("/api/search", params=given, headers=headers)).is_success

    async def kept() -> list[tuple[Any, ...]]:
        with open_warehouse(settings.warehouse_dir) as warehouse:
            return warehouse.execute(
                "SELECT query_key, page, results, filters, latency_ms > 0 FROM fact_searches "
                "WHERE session_id = ? ORDER BY event_seq",
                [session_id],
            ).fetchall()

    assert await eventually(kept, lambda rows: len(rows) >= 2) == [
        (nonsense, 1, 0, "{}", True),
        (nonsense, 2, 0, '{"in_stock": true}', True),
    ]
    with open_warehouse(settings.warehouse_dir) as warehouse:
        counted = warehouse.execute(
            "SELECT sum(searches), sum(zero_results) FROM rollup_searches WHERE query_key = ?",
            [nonsense],
        ).fetchone()
    assert counted == (1, 1), "the second page is not another search"


async def test_a_malformed_session_header_is_refused(client: httpx.AsyncClient) -> None:
    answer = await client.get("/api/search", params={"q": "x"}, headers={"X-Session-Id": "a b"})
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["loc"] == ["header", "x-session-id"]


def test_behind_a_trusted_proxy_limits_count_the_client_not_the_proxy(settings: Settings) -> None:
    """uvicorn with FORWARDED_ALLOW_IPS=127.0.0.1 (the default): the proxy's
    X-Forwarded-For names the client whose per-address limit counts."""
    tight = settings.model_copy(update={"events_per_minute": 2})
    batch = {"session_id": a_session(), "events": [{"type": "cart_viewed"}]}
    first, second = f"203.0.113.{uuid.uuid4().int % 250}", f"2001:db8:{uuid.uuid4().hex[:4]}::1"
    with served(create_app(tight), "the API behind a proxy") as url:

        def sent(client_address: str) -> int:
            headers = {"X-Forwarded-For": client_address}
            return httpx.post(f"{url}/api/events", json=batch, headers=headers).status_code

        assert [sent(first) for _ in range(3)] == [202, 202, 429]
        assert sent(second) == 202, "another client behind the same proxy has its own limit"
