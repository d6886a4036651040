"""Workers that scale out: two processes running the same consumers share their group, split
the partitions, and when one is killed under load the other takes its partitions over;
every order's saga still runs once per event and in order."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bootstrap.settings import Settings
from storefront.processes import WorkerProcess
from streams import handlers
from streams.projections import SEARCH, STOCK, WAREHOUSE
from tests.api.conftest import register_shopper
from tests.api.test_cart import add, tee
from tests.api.test_orders import checkout
from tests.conftest import eventually, worker_env

pytestmark = pytest.mark.usefixtures("reference")
SHOPPERS, ORDERS_EACH = 4, 8
SAGA = ("order.created", "payment.succeeded", "order.confirmed")


def single_writers(settings: Settings) -> set[str]:
    """Consumers with one writer: the Parquet warehouse, and the tantivy indexes."""
    return {WAREHOUSE} if settings.elasticsearch_url else {WAREHOUSE, SEARCH, STOCK}


def shared_consumers(settings: Settings) -> list[str]:
    return [n for n in handlers.consumer_names() if n not in single_writers(settings)]


def expected_partitions(settings: Settings, consumers: list[str]) -> set[str]:
    topics = {t for name in consumers for t in handlers.subscriptions()[name]}
    return {f"{t}:{p}" for t in topics for p in range(settings.kafka_partitions)}


def owned(log: Path) -> set[str] | None:
    """The partitions a worker announced last (None before its first assignment)."""
    last = None
    for line in log.read_text().splitlines() if log.exists() else []:
        if '"partitions assigned"' in line:
            last = set(json.loads(line)["partitions"])
    return last


@pytest.fixture
def workers(
    settings: Settings, worker: WorkerProcess, tmp_path: Path
) -> Iterator[tuple[WorkerProcess, WorkerProcess]]:
    """The usual worker's consumers split over three processes: two sharing the scalable
    consumers, one running those with a single writer."""
    worker.stop()
    env = {**worker_env(settings), "STOREFRONT_WORKER_METRICS_PORT": "0"}
    alone = WorkerProcess(
        {**env, "STOREFRONT_WORKER_CONSUMERS": json.dumps(sorted(single_writers(settings)))},
        tmp_path / "single.log",
    )
    shared = {"STOREFRONT_WORKER_CONSUMERS": json.dumps(shared_consumers(settings))}
    first = WorkerProcess({**env, **shared}, tmp_path / "first.log")
    second = WorkerProcess({**env, **shared}, tmp_path / "second.log")
    try:
        for process in (alone, first, second):
            process.start()
        yield first, second
    finally:
        for process in (first, second, alone):
            process.stop()
        worker.start()


async def test_two_workers_split_partitions_and_one_takes_over_when_the_other_dies(
    settings: Settings,
    client: httpx.AsyncClient,
    admin: dict[str, str],
    sessions: async_sessionmaker[AsyncSession],
    workers: tuple[WorkerProcess, WorkerProcess],
) -> None:
    first, second = workers
    everything = expected_partitions(settings, shared_consumers(settings))

    def split() -> tuple[set[str] | None, set[str] | None]:
        return owned(first.log_path), owned(second.log_path)

    def evenly(found: tuple[set[str] | None, set[str] | None]) -> bool:
        a, b = found
        return bool(a) and bool(b) and not (a & b) and (a | b) == everything  # type: ignore[operator]

    await eventually(lambda: asyncio.to_thread(split), evenly, timeout=60)

    product = await tee(client, admin, stock=SHOPPERS * ORDERS_EACH)
    shoppers = [await register_shopper(client) for _ in range(SHOPPERS)]
    placed: list[str] = []

    async def buy(shopper: dict[str, str]) -> None:
        for _ in range(ORDERS_EACH):
            added = await add(client, shopper, product, variant_id=product["variants"][0]["id"])
            assert added.status_code == 200, added.text
            response = await checkout(client, shopper, payment_method="tok_visa")
            assert response.status_code == 201, response.text
            placed.append(response.json()["id"])

    async def kill_second_once_busy() -> None:
        await eventually(lambda: confirmed(sessions, placed), lambda n: n >= 4, timeout=60)
        second.kill()

    await asyncio.gather(*(buy(s) for s in shoppers), kill_second_once_busy())

    try:
        await eventually(
            lambda: confirmed(sessions, placed), lambda n: n == len(placed), timeout=120
        )
    except AssertionError:
        raise AssertionError(await stuck(sessions, placed)) from None
    await eventually(
        lambda: asyncio.to_thread(owned, first.log_path), lambda o: o == everything, timeout=60
    )
    sagas = await saga_events(sessions, placed)
    assert {order: kinds for order, kinds in sagas.items() if kinds != list(SAGA)} == {}


async def confirmed(sessions: async_sessionmaker[AsyncSession], orders: list[str]) -> int:
    async with sessions() as session:
        found = await session.scalar(
            text(
                "SELECT count(*) FROM orders"
                " WHERE id = ANY(CAST(:ids AS uuid[])) AND status = 'CONFIRMED'"
            ),
            {"ids": list(orders)},
        )
    return int(found or 0)


async def saga_events(
    sessions: async_sessionmaker[AsyncSession], orders: list[str]
) -> dict[str, list[Any]]:
    """Each order's saga events in outbox order: a step run twice would write twice."""
    async with sessions() as session:
        rows = await session.execute(
            text("""
                SELECT coalesce(event->'payload'->>'order_id', event->>'aggregate_id') AS order_id,
                       event->>'type'
                FROM outbox
                WHERE event->>'type' = ANY(:types)
                  AND coalesce(event->'payload'->>'order_id', event->>'aggregate_id') = ANY(:ids)
                ORDER BY seq
            """),
            {"types": list(SAGA), "ids": list(orders)},
        )
    sagas: dict[str, list[Any]] = {order: [] for order in orders}
    for order, kind in rows:
        sagas[order].append(kind)
    return sagas


async def stuck(sessions: async_sessionmaker[AsyncSession], orders: list[str]) -> str:
    """Orders the saga did not confirm: their status, payments and events."""
    async with sessions() as session:
        rows = await session.execute(
            text("""
                SELECT o.id, o.status,
                  (SELECT json_agg(p.status) FROM payments p WHERE p.order_id = o.id),
                  (SELECT json_agg(json_build_array(x.seq, x.event->>'type', x.published_at)
                                   ORDER BY x.seq)
                   FROM outbox x WHERE x.key = o.id::text)
                FROM orders o WHERE o.id = ANY(CAST(:ids AS uuid[])) AND o.status <> 'CONFIRMED'
            """),
            {"ids": list(orders)},
        )
        found = [tuple(row) for row in rows]
        processed = await session.execute(
            text("SELECT consumer, count(*) FROM processed_events GROUP BY 1")
        )
        return f"unconfirmed: {found!r}; processed: {[tuple(r) for r in processed]!r}"
