"""The checkout gate: while the checkout saga is behind, new checkouts get a 503 with
Retry-After and nothing is placed; once it has caught up, checkouts go through again.

On a database of its own with no worker, so the saga is exactly as far behind as the test
makes it: an order.created written 30 s ago that the payments step has not applied."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from pydantic import BaseModel
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bootstrap.settings import Settings
from commerce.db import transaction
from commerce.orders.models import Order
from commerce.outbox import OutboxRow, outbox_row
from tests.api.conftest import api_on_database
from tests.api.test_roles import new_user
from tests.conftest import eventually, sign_in

PAUSE_AFTER = 1.0


class Placed(BaseModel):
    order_id: uuid.UUID


@pytest.fixture
async def gated_shop(
    settings: Settings, fresh_database: str
) -> AsyncIterator[tuple[httpx.AsyncClient, async_sessionmaker[AsyncSession]]]:
    gated = {"checkout_pause_after_seconds": PAUSE_AFTER}
    async with api_on_database(settings, fresh_database, **gated) as shop:
        yield shop


async def test_checkout_waits_while_the_saga_is_behind_and_resumes_when_it_catches_up(
    gated_shop: tuple[httpx.AsyncClient, async_sessionmaker[AsyncSession]],
) -> None:
    client, sessions = gated_shop
    shopper = await sign_in(client, await new_user(sessions))

    async def check_out() -> httpx.Response:
        headers = {**shopper, "Idempotency-Key": str(uuid.uuid4())}
        body = {"shipping_address": ADDRESS, "payment_method": "tok_visa"}
        return await client.post("/api/orders", json=body, headers=headers)

    assert (await check_out()).status_code == 409, "nothing behind: on to the (empty) cart"

    order_id = uuid.uuid4()
    async with transaction(sessions) as session:
        row = OutboxRow(**outbox_row("order.created", order_id, 1, Placed(order_id=order_id)))
        session.add(row)
        await session.flush()
        await session.execute(
            text("UPDATE outbox SET created_at = now() - interval '30 seconds' WHERE seq = :seq"),
            {"seq": row.seq},
        )

    paused = await eventually(check_out, lambda r: r.status_code == 503, timeout=30)
    assert paused.headers["content-type"].startswith("application/problem+json")
    assert int(paused.headers["Retry-After"]) >= 1
    assert "behind" in paused.json()["detail"]
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Order)) == 0

    async with transaction(sessions) as session:  # the saga catches up: both steps applied it
        for consumer in ("payments", "orders"):
            await session.execute(
                text("INSERT INTO processed_events (consumer, seq) VALUES (:consumer, :seq)"),
                {"consumer": consumer, "seq": row.seq},
            )

    resumed = await eventually(check_out, lambda r: r.status_code != 503, timeout=30)
    assert resumed.status_code == 409, resumed.text


ADDRESS = {
    "name": "Gate Shopper",
    "line1": "1 Queue Street",
    "city": "Springfield",
    "postal_code": "12345",
    "country": "US",
}
