"""The notify step takes a batch at once (its orders, users and preferences read once, its
rows queued in a statement per channel): each notice still reaches its own customer with
its own order, by the channels they chose, and a batch taken again adds nothing."""

from __future__ import annotations

import uuid
from decimal import Decimal

import httpx
import pytest
from redis.asyncio import Redis
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from commerce.db import transaction
from commerce.events import Envelope, PaymentRecorded
from commerce.notifications.from_events import notification_steps, order_number
from commerce.notifications.models import EmailDelivery, Notification
from commerce.notifications.rendering import Kind
from commerce.notifications.repository import NotificationRepository
from commerce.notifications.service import Shop
from commerce.orders.checkout import Checkout, place_order
from commerce.orders.schemas import OrderIn
from commerce.outbox import OutboxRow
from commerce.unit_of_work import UnitOfWork
from tests.api.test_cart import tee
from tests.checkout import ADDRESS, customers, fill_cart

pytestmark = pytest.mark.usefixtures("reference")

SHOP = Shop(name="Storefront", url="http://shop.example.com")


async def placed_events(
    sessions: async_sessionmaker[AsyncSession], order_ids: list[uuid.UUID]
) -> list[Envelope]:
    async with sessions() as session:
        rows = await session.execute(
            select(OutboxRow.seq, OutboxRow.event)
            .where(OutboxRow.key.in_([str(o) for o in order_ids]))
            .order_by(OutboxRow.seq)
        )
        return [Envelope.model_validate({**event, "seq": seq}) for seq, event in rows.tuples()]


async def test_a_batch_notifies_each_customer_of_their_own_order_by_their_channels(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    sessions: async_sessionmaker[AsyncSession],
    redis: Redis,
    checkout: Checkout,
) -> None:
    product = await tee(client, admin, stock=10, name="Batched Tee")
    ada, bob = await customers(sessions, 2)
    async with transaction(sessions) as session:
        await NotificationRepository(session).set_preferences(
            bob, {"email": True, "in_app": False, "stock_alerts": False}
        )
    orders = {}
    for who, quantity in ((ada, 1), (bob, 2)):
        await fill_cart(redis, who, product, quantity)
        order = OrderIn.model_validate({"shipping_address": ADDRESS, "payment_method": "tok_visa"})
        placed = await place_order(checkout, who, order, "USD", str(uuid.uuid4()), "10.0.0.1")
        orders[who] = placed.id
    events = [
        e for e in await placed_events(sessions, list(orders.values())) if e.type == "order.created"
    ]
    gone = events[0].model_copy(
        update={
            "event_id": uuid.uuid4(),
            "payload": {**events[0].payload, "order_id": str(uuid.uuid4())},
        }
    )
    paid = PaymentRecorded(
        payment_id=uuid.uuid4(),
        order_id=orders[ada],
        amount=Decimal("19.99"),
        currency="USD",
        status="SUCCEEDED",
        provider_reference="pi_batched",
    )
    receipt = Envelope(
        type="payment.succeeded",
        aggregate_id=str(orders[ada]),
        aggregate_version=1,
        payload=paid.model_dump(mode="json"),
    )
    steps = notification_steps(SHOP)

    for _ in range(2):  # taken again (a redelivery): nothing more is queued
        async with UnitOfWork(sessions) as uow:
            await steps([*events, gone, receipt], uow)

    async with sessions() as session:
        emails = (
            await session.scalars(
                select(EmailDelivery)
                .where(EmailDelivery.user_id.in_([ada, bob]))
                .order_by(EmailDelivery.id)
            )
        ).all()
        in_app = (
            await session.scalars(select(Notification).where(Notification.user_id.in_([ada, bob])))
        ).all()
    # The receipt's customer is its order's; the order that is gone notifies nobody.
    assert [(e.user_id, e.kind) for e in emails] == [
        (ada, Kind.ORDER_CONFIRMATION),
        (bob, Kind.ORDER_CONFIRMATION),
        (ada, Kind.PAYMENT_RECEIPT),
    ]
    for email in emails:
        assert email.recipient == f"c-{email.user_id}@load.example.com"
        assert order_number(orders[email.user_id]) in email.subject
    assert "2 x Batched Tee" in emails[1].text_body
    assert "pi_batched" in emails[2].text_body
    # Bob turned in-app notifications off: email only.
    assert sorted(n.kind for n in in_app if n.user_id == ada) == [
        Kind.ORDER_CONFIRMATION,
        Kind.PAYMENT_RECEIPT,
    ]
    assert [n for n in in_app if n.user_id == bob] == []
