"""Exactly-once effects on the real database: saga steps commit with their processed record,
projections skip what they applied, and the handler table binds consumers to topics."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from collections import Counter
from pathlib import Path
from typing import cast

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from analytics.warehouse import ParquetWarehouse, open_warehouse
from commerce.catalog.models import Brand
from commerce.db import autocommit, transaction
from commerce.events import Envelope, StockAdjusted
from commerce.outbox import DeadLetter, ProcessedEvent
from commerce.unit_of_work import UnitOfWork
from streams import checkpoints, handlers
from streams.app import handle_batch
from streams.consumers import Consumer, consume, each, record_processed, unapplied
from streams.projections import warehouse_writer
from streams.steps import ORDERS, PAYMENTS, saga

pytestmark = pytest.mark.usefixtures("reference")


def event(event_type: str = "product.updated") -> Envelope:
    return Envelope(
        type=event_type,
        aggregate_id=str(uuid.uuid4()),
        aggregate_version=1,
        payload={},
        seq=10**12 + uuid.uuid4().int % 10**11,
    )


async def brand_exists(sessions: async_sessionmaker[AsyncSession], name: str) -> bool:
    async with sessions() as session:
        return (await session.scalar(select(Brand.id).where(Brand.name == name))) is not None


async def processed(sessions: async_sessionmaker[AsyncSession], consumer: str) -> set[int]:
    async with sessions() as session:
        return set(
            await session.scalars(
                select(ProcessedEvent.seq).where(ProcessedEvent.consumer == consumer)
            )
        )


def step_consumer(
    calls: Counter[int], *, fail: bool = False, together: bool = False
) -> tuple[Consumer, str]:
    """A step that writes a row (a brand named after the event) through its unit of work;
    `together`: a batch's steps in one unit of work (notify, rewards)."""
    name = f"step-{uuid.uuid4().hex[:8]}"

    async def step(event: Envelope, uow: UnitOfWork) -> None:
        assert event.seq is not None
        calls[event.seq] += 1
        await uow.catalog.brand_by_name(f"Brand {event.seq}")
        if fail:
            raise RuntimeError("the step failed after writing")

    consumer = Consumer(
        name,
        topics=("catalog",),
        types=frozenset({"product.updated"}),
        **({"steps": each(step)} if together else {"step": step}),
    )
    return consumer, name


@pytest.mark.parametrize("together", [False, True], ids=["one-by-one", "together"])
async def test_a_step_commits_its_rows_with_its_processed_record(
    sessions: async_sessionmaker[AsyncSession], together: bool
) -> None:
    calls: Counter[int] = Counter()
    consumer, name = step_consumer(calls, together=together)
    batch = [event(), event()]

    assert await consume(sessions, consumer, batch) == 2
    for happened in batch:
        assert await brand_exists(sessions, f"Brand {happened.seq}")
    assert await processed(sessions, name) == {e.seq for e in batch}


@pytest.mark.parametrize("together", [False, True], ids=["one-by-one", "together"])
async def test_a_failed_step_leaves_neither_rows_nor_a_processed_record(
    sessions: async_sessionmaker[AsyncSession], together: bool
) -> None:
    calls: Counter[int] = Counter()
    consumer, name = step_consumer(calls, fail=True, together=together)
    happened = event()
    assert happened.seq is not None

    with pytest.raises(RuntimeError):
        await consume(sessions, consumer, [happened])
    assert not await brand_exists(sessions, f"Brand {happened.seq}")
    assert await processed(sessions, name) == set()


async def test_a_poison_event_in_a_batch_run_together_costs_the_others_nothing(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """The batch's unit of work rolls back whole; retried one by one, the good events apply
    once and the bad one is dead-lettered."""
    poison = event()
    calls: Counter[int] = Counter()
    name = f"together-{uuid.uuid4().hex[:8]}"

    async def step(happened: Envelope, uow: UnitOfWork) -> None:
        assert happened.seq is not None
        calls[happened.seq] += 1
        await uow.catalog.brand_by_name(f"Brand {happened.seq}")
        if happened.seq == poison.seq:
            raise RuntimeError("poison")

    consumer = Consumer(
        name, steps=each(step), topics=("catalog",), types=frozenset({"product.updated"})
    )
    good = [event(), event()]
    await handle_batch(sessions, consumer, [good[0], poison, good[1]])

    for happened in good:
        assert await brand_exists(sessions, f"Brand {happened.seq}")
    assert not await brand_exists(sessions, f"Brand {poison.seq}")
    assert await processed(sessions, name) == {e.seq for e in [*good, poison]}
    async with sessions() as session:
        letter = await session.scalar(select(DeadLetter).where(DeadLetter.seq == poison.seq))
    assert letter is not None and letter.consumer == name
    before = calls.copy()
    assert await consume(sessions, consumer, good) == 0, "committed once: a redelivery skips"
    assert calls == before


@pytest.mark.parametrize("together", [False, True], ids=["one-by-one", "together"])
async def test_an_event_delivered_twice_or_concurrently_is_applied_once(
    sessions: async_sessionmaker[AsyncSession], together: bool
) -> None:
    calls: Counter[int] = Counter()
    consumer, _ = step_consumer(calls, together=together)
    batch = [event(), event()]

    await consume(sessions, consumer, batch)
    await consume(sessions, consumer, batch)  # a redelivery after a crash or broker reset
    twin = [event()]
    await asyncio.gather(*(consume(sessions, consumer, twin) for _ in range(5)))

    assert set(calls.values()) == {1}
    assert len(calls) == 3


async def test_steps_of_different_orders_run_side_by_side_and_one_orders_in_sequence(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """Steps wait on the database and the payment provider: one at a time, the worker sat
    idle while orders queued. Each step here waits until three are in flight at once."""
    three_in_flight = asyncio.Barrier(3)
    order_of_steps: list[tuple[str, int]] = []

    async def step(event: Envelope, uow: UnitOfWork) -> None:
        assert event.seq is not None
        order_of_steps.append((event.aggregate_id, event.aggregate_version))
        if event.aggregate_version == 1:
            await asyncio.wait_for(three_in_flight.wait(), timeout=30)

    consumer = Consumer(
        f"lanes-{uuid.uuid4().hex[:8]}",
        step=step,
        topics=("orders",),
        types=frozenset({"order.created", "payment.succeeded"}),
    )
    orders = [str(uuid.uuid4()) for _ in range(3)]
    batch = [event("order.created").model_copy(update={"aggregate_id": o}) for o in orders] + [
        event("payment.succeeded").model_copy(
            update={"aggregate_id": order, "aggregate_version": 2}
        )
        for order in orders
    ]

    assert await consume(sessions, consumer, batch) == 6
    for order in orders:
        versions = [version for aggregate, version in order_of_steps if aggregate == order]
        assert versions == [1, 2], "one order's events in the order they were published"


async def test_a_step_consumer_records_what_it_does_not_act_on_without_a_step_each(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    stepped: list[str] = []

    async def step(event: Envelope, uow: UnitOfWork) -> None:
        stepped.append(event.type)

    name = f"steps-{uuid.uuid4().hex[:8]}"
    consumer = Consumer(name, step=step, topics=("orders",), types=frozenset({"order.created"}))
    batch = [event("order.created"), *(event("order.confirmed") for _ in range(50))]

    assert await consume(sessions, consumer, batch) == 1
    assert stepped == ["order.created"]
    assert await processed(sessions, name) == {e.seq for e in batch}, "all recorded as handled"
    assert await consume(sessions, consumer, batch) == 0
    assert stepped == ["order.created"], "applied once"


async def test_a_projection_skips_a_batch_it_has_applied(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    applied: list[int] = []

    async def apply(events: list[Envelope]) -> None:
        applied.extend(e.seq for e in events if e.seq)

    name = f"projection-{uuid.uuid4().hex[:8]}"
    consumer = Consumer(
        name, apply=apply, topics=("catalog",), types=frozenset({"product.updated"})
    )
    batch = [event(), event(), event("price.changed")]  # a type it has no handler for

    assert await consume(sessions, consumer, batch) == 2
    assert await consume(sessions, consumer, batch) == 0
    assert sorted(applied) == sorted(e.seq for e in batch[:2] if e.seq)
    assert await processed(sessions, name) == {e.seq for e in batch}, "unhandled: recorded"


async def test_unapplied_leaves_out_what_the_checkpoint_passed_and_what_was_recorded(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    name = f"probe-{uuid.uuid4().hex[:8]}"
    async with transaction(sessions) as session:
        await checkpoints.move_to(session, name, 10)
        await record_processed(session, name, [12, 14])
        other = f"{name}-other"
        await record_processed(session, other, [11, 13])  # another consumer's records

    async with autocommit(sessions) as session:
        pending = await unapplied(session, name, [5, 10, 11, 12, 13, 14, 15])

    assert pending == {11, 13, 15}


def test_the_table_gives_each_consumer_the_topics_of_its_event_types() -> None:
    assert handlers.subscriptions() == {
        "search": ("catalog", "inventory"),
        "warehouse": (
            "activity",
            "catalog",
            "inventory",
            "orders",
            "payments",
            "search-queries",
            "users",
        ),
        "cache": ("catalog", "inventory"),
        "stock": ("catalog", "inventory"),
        "push": ("engagement", "inventory", "orders", "payments"),
        "notify": ("engagement", "inventory", "orders", "payments", "users"),
        "rewards": ("orders",),
        "permissions": ("users",),
        "payments": ("orders",),
        "live": ("orders",),
        "orders": ("payments",),
    }
    with pytest.raises(ValueError, match="nobody built"):
        handlers.bind({})


def test_every_event_a_saga_consumer_takes_has_its_step_in_the_table() -> None:
    steps = {
        name: {event_type: step.__name__ for event_type, step in handlers.steps_of(name).items()}
        for name in (ORDERS, PAYMENTS)
    }
    assert steps == {
        ORDERS: {"payment.succeeded": "confirm_paid", "payment.failed": "fail_unpaid"},
        PAYMENTS: {
            "order.created": "charge_placed",
            "order.cancelled": "refund_order",
            "order.returned": "refund_return",
        },
    }
    for name in (ORDERS, PAYMENTS):
        assert set(handlers.steps_of(name)) == handlers.types_of(name), "none falls through"


async def test_a_saga_step_is_given_the_adapters_it_names_and_no_others() -> None:
    given: dict[str, tuple[object, ...]] = {}

    async def charges(event: Envelope, uow: UnitOfWork, provider: object) -> None:
        given[event.type] = (provider,)

    async def confirms(event: Envelope, uow: UnitOfWork) -> None:
        given[event.type] = ()

    consumer = saga("test", {"a": charges, "b": confirms}, provider="the provider", other=1)
    assert consumer.step is not None
    for event_type in ("a", "b"):
        envelope = Envelope(type=event_type, aggregate_id="x", aggregate_version=1, payload={})
        await consumer.step(envelope, cast(UnitOfWork, None))
    assert given == {"a": ("the provider",), "b": ()}


def test_a_worker_can_run_a_subset_of_the_consumers() -> None:
    async def apply(events: list[Envelope]) -> None: ...

    built = {name: Consumer(name, apply=apply) for name in handlers.consumer_names()}
    chosen = handlers.bind(built, only=["search"])
    assert [(c.name, c.topics) for c in chosen] == [("search", ("catalog", "inventory"))]
    with pytest.raises(ValueError, match="no consumer named"):
        handlers.bind(built, only=["serach"])


def stock_event(seq: int) -> Envelope:
    payload = StockAdjusted(
        movement_id=seq,
        product_id=uuid.uuid4(),
        sku=f"W-{seq}",
        warehouse="berlin",
        delta=1,
        on_hand=1,
        available=1,
        reason="count",
    )
    return Envelope(
        type="stock.adjusted",
        aggregate_id=payload.sku,
        aggregate_version=1,
        payload=payload.model_dump(mode="json"),
        seq=seq,
    )


async def test_a_crashed_warehouse_batch_handed_back_in_pieces_is_written_once(
    sessions: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    """The worker died after writing a batch and before recording it; the broker then hands
    those events back split over batches, after others."""
    name = f"warehouse-{uuid.uuid4().hex[:8]}"
    base = 10**12 + uuid.uuid4().int % 10**11
    crashed = [stock_event(base + n) for n in range(6)]
    warehouse = ParquetWarehouse(tmp_path)
    writer = dataclasses.replace(
        warehouse_writer(warehouse, sessions, name), types=frozenset({"stock.adjusted"})
    )
    assert writer.apply is not None
    await writer.apply(crashed)  # written, never recorded: the crash

    restarted = dataclasses.replace(
        warehouse_writer(ParquetWarehouse(tmp_path), sessions, name),
        types=frozenset({"stock.adjusted"}),
    )
    others = [stock_event(base + 100 + n) for n in range(3)]
    for batch in (others + crashed[:2], crashed[2:4], crashed[4:]):
        await consume(sessions, restarted, batch)

    movements = open_warehouse(tmp_path).sql(
        "SELECT event_seq, count(*) FROM fact_stock_movements GROUP BY 1 HAVING count(*) > 1"
    )
    assert movements.fetchall() == []
    assert open_warehouse(tmp_path).sql("SELECT count(*) FROM fact_stock_movements").fetchone() == (
        9,
    )
