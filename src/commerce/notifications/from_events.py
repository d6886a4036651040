"""Which events notify whom, with what: the worker's `notify` consumer calls
`notification_steps` with a batch.

A batch runs in one unit of work, so the queued emails and in-app notifications commit
with the events' processed records; `source` (the event id) keeps a redelivery from adding
any twice.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from commerce.events import (
    AchievementUnlocked,
    Envelope,
    OrderChanged,
    OrderPlaced,
    PaymentRecorded,
    QuestCompleted,
    UserRegistered,
)
from commerce.inventory.schemas import LowStockCrossing
from commerce.notifications.rendering import Kind
from commerce.notifications.service import Shop, notify, recipient, stock_alert_recipients
from commerce.orders.repository import OrderRepository
from commerce.orders.states import Status
from commerce.unit_of_work import UnitOfWork

Steps = Callable[[Sequence[Envelope], UnitOfWork], Awaitable[None]]

#: Order moves the customer hears about, by the status the order moved to.
MOVES: dict[str, Kind] = {Status.SHIPPED: Kind.SHIPMENT, Status.DELIVERED: Kind.DELIVERY}


def notification_steps(shop: Shop) -> Steps:
    async def steps(events: Sequence[Envelope], uow: UnitOfWork) -> None:
        # Read once a batch: a restock or an import crosses thousands of low-stock lines.
        staff = (
            await stock_alert_recipients(uow.session)
            if any(event.type == "stock.low" for event in events)
            else []
        )
        for event in events:
            source = f"{event.type}:{event.event_id}"
            for user_id, kind, context in await _notifications(event, uow):
                user = await uow.identity.user(user_id)
                if user is not None:
                    await notify(uow.session, shop, recipient(user), kind, context, source=source)
            if event.type == "stock.low":
                crossing = LowStockCrossing.model_validate(event.payload)
                context = {"stock": crossing.model_dump(mode="json")}
                for member in staff:
                    await notify(uow.session, shop, member, Kind.LOW_STOCK, context, source=source)

    return steps


Notice = tuple[uuid.UUID, Kind, dict[str, Any]]


async def _notifications(event: Envelope, uow: UnitOfWork) -> list[Notice]:
    """(user, kind, context) of what `event` tells a customer."""
    if event.type == "user.registered":
        registered = UserRegistered.model_validate(event.payload)
        return [(registered.user_id, Kind.WELCOME, {})]
    if event.type == "order.created":
        placed = OrderPlaced.model_validate(event.payload)
        order = await _order(uow, placed.order_id)
        return [(placed.customer_id, Kind.ORDER_CONFIRMATION, {"order": order})] if order else []
    if event.type in ("payment.succeeded", "payment.refunded"):
        return await _payment(event, uow)
    if event.type in ("order.cancelled", "order.status_changed"):
        return await _order_moved(event, uow)
    if event.type == "achievement.unlocked":
        unlocked = AchievementUnlocked.model_validate(event.payload)
        achievement = unlocked.model_dump(mode="json")
        return [(unlocked.customer_id, Kind.ACHIEVEMENT_UNLOCKED, {"achievement": achievement})]
    if event.type == "quest.completed":
        completed = QuestCompleted.model_validate(event.payload)
        quest = completed.model_dump(mode="json")
        return [(completed.customer_id, Kind.QUEST_COMPLETED, {"quest": quest})]
    return []


async def _payment(event: Envelope, uow: UnitOfWork) -> list[Notice]:
    payment = PaymentRecorded.model_validate(event.payload)
    order = await _order(uow, payment.order_id)
    if order is None:
        return []
    kind = Kind.PAYMENT_RECEIPT if event.type == "payment.succeeded" else Kind.REFUND
    paid = {
        "amount": str(payment.amount),
        "currency": payment.currency,
        "reference": payment.provider_reference or str(payment.payment_id),
        "reason": payment.reason,
    }
    return [(uuid.UUID(order["customer_id"]), kind, {"order": order, "payment": paid})]


async def _order_moved(event: Envelope, uow: UnitOfWork) -> list[Notice]:
    changed = OrderChanged.model_validate(event.payload)
    kind = Kind.CANCELLATION if event.type == "order.cancelled" else MOVES.get(changed.status)
    if kind is None:
        return []
    order = await _order(uow, changed.order_id)
    if order is None:
        return []
    context = {
        "order": order,
        "reason": changed.reason,
        "refund": str(changed.refund) if changed.refund else "",
    }
    return [(changed.customer_id, kind, context)]


async def _order(uow: UnitOfWork, order_id: uuid.UUID) -> dict[str, Any] | None:
    """The order as emails show it: a short number, its lines and total."""
    orders = OrderRepository(uow.session)
    order = await orders.get(order_id)
    if order is None:
        return None
    lines = await orders.lines(order_id)
    return {
        "id": str(order.id),
        "number": order_number(order.id),
        "customer_id": str(order.customer_id),
        "currency": order.currency,
        "total": str(order.total),
        "lines": [
            {
                "sku": line.sku,
                "name": line.name,
                "quantity": line.quantity,
                "total": str(line.total),
            }
            for line in lines
        ],
    }


def order_number(order_id: uuid.UUID) -> str:
    """What a person reads and quotes: the first eight hex digits of the id."""
    return order_id.hex[:8].upper()
