"""Which events notify whom, with what: the worker's `notify` consumer calls
`notification_steps` with a batch.

A batch runs in one unit of work, so the queued emails and in-app notifications commit
with the events' processed records; `source` (the event id) keeps a redelivery from adding
any twice.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
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
from commerce.notifications.service import (
    Notice,
    Recipient,
    Shop,
    notify_all,
    recipients,
    stock_alert_recipients,
)
from commerce.orders.repository import OrderRepository
from commerce.orders.states import Status
from commerce.unit_of_work import UnitOfWork

Steps = Callable[[Sequence[Envelope], UnitOfWork], Awaitable[None]]

#: Order moves the customer hears about, by the status the order moved to.
MOVES: dict[str, Kind] = {Status.SHIPPED: Kind.SHIPMENT, Status.DELIVERED: Kind.DELIVERY}


@dataclass(frozen=True)
class _Wanted:
    """A notice an event asks for, before the batch's orders and users are read: `order_id`
    names the order its context shows, whose customer it goes to when `user_id` is None."""

    user_id: uuid.UUID | None
    kind: Kind
    context: dict[str, Any]
    order_id: uuid.UUID | None = None


def notification_steps(shop: Shop) -> Steps:
    async def steps(events: Sequence[Envelope], uow: UnitOfWork) -> None:
        # Read once a batch: orders and users for every event, and the staff for the
        # low-stock lines (a restock or an import crosses thousands).
        wanted = [(event, want) for event in events for want in _wanted(event)]
        orders = await _orders(uow, {w.order_id for _, w in wanted if w.order_id is not None})
        staff = (
            await stock_alert_recipients(uow.session)
            if any(event.type == "stock.low" for event in events)
            else []
        )
        people = await recipients(uow.session, {to for _, w in wanted if (to := _to(w, orders))})
        notices = [n for event, w in wanted for n in _resolved(event, w, orders, people, staff)]
        await notify_all(uow.session, shop, notices)

    return steps


def _wanted(event: Envelope) -> list[_Wanted]:
    """What `event` tells whom."""
    if event.type == "user.registered":
        registered = UserRegistered.model_validate(event.payload)
        return [_Wanted(registered.user_id, Kind.WELCOME, {})]
    if event.type == "order.created":
        placed = OrderPlaced.model_validate(event.payload)
        return [_Wanted(placed.customer_id, Kind.ORDER_CONFIRMATION, {}, placed.order_id)]
    if event.type in ("payment.succeeded", "payment.refunded"):
        payment = PaymentRecorded.model_validate(event.payload)
        kind = Kind.PAYMENT_RECEIPT if event.type == "payment.succeeded" else Kind.REFUND
        paid = {
            "amount": str(payment.amount),
            "currency": payment.currency,
            "reference": payment.provider_reference or str(payment.payment_id),
            "reason": payment.reason,
        }
        return [_Wanted(None, kind, {"payment": paid}, payment.order_id)]
    if event.type in ("order.cancelled", "order.status_changed"):
        changed = OrderChanged.model_validate(event.payload)
        moved = Kind.CANCELLATION if event.type == "order.cancelled" else MOVES.get(changed.status)
        if moved is None:
            return []
        refund = str(changed.refund) if changed.refund else ""
        context = {"reason": changed.reason, "refund": refund}
        return [_Wanted(changed.customer_id, moved, context, changed.order_id)]
    if event.type == "achievement.unlocked":
        unlocked = AchievementUnlocked.model_validate(event.payload)
        achievement = unlocked.model_dump(mode="json")
        return [
            _Wanted(unlocked.customer_id, Kind.ACHIEVEMENT_UNLOCKED, {"achievement": achievement})
        ]
    if event.type == "quest.completed":
        completed = QuestCompleted.model_validate(event.payload)
        quest = completed.model_dump(mode="json")
        return [_Wanted(completed.customer_id, Kind.QUEST_COMPLETED, {"quest": quest})]
    if event.type == "stock.low":
        crossing = LowStockCrossing.model_validate(event.payload)
        return [_Wanted(None, Kind.LOW_STOCK, {"stock": crossing.model_dump(mode="json")})]
    return []


def _to(want: _Wanted, orders: Mapping[uuid.UUID, dict[str, Any]]) -> uuid.UUID | None:
    """Whom `want` goes to: its user, else its order's customer (None: staff, or the order
    is gone)."""
    if want.user_id is not None or want.order_id is None:
        return want.user_id
    order = orders.get(want.order_id)
    return None if order is None else uuid.UUID(order["customer_id"])


def _resolved(
    event: Envelope,
    want: _Wanted,
    orders: Mapping[uuid.UUID, dict[str, Any]],
    people: Mapping[uuid.UUID, Recipient],
    staff: Sequence[Recipient],
) -> list[Notice]:
    """The notices of `want`: none if its order or its user is gone."""
    source = f"{event.type}:{event.event_id}"
    if want.kind is Kind.LOW_STOCK:
        return [Notice(member, want.kind, want.context, source) for member in staff]
    context = want.context
    if want.order_id is not None:
        if (order := orders.get(want.order_id)) is None:
            return []
        context = {"order": order, **context}
    to = _to(want, orders)
    if to is None or (recipient := people.get(to)) is None:
        return []
    return [Notice(recipient, want.kind, context, source)]


async def _orders(uow: UnitOfWork, order_ids: set[uuid.UUID]) -> dict[uuid.UUID, dict[str, Any]]:
    """The orders as emails show them: a short number, the lines and the total."""
    if not order_ids:
        return {}
    return {
        order.id: {
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
        for order, lines in await OrderRepository(uow.session).with_lines(order_ids)
    }


def order_number(order_id: uuid.UUID) -> str:
    """What a person reads and quotes: the first eight hex digits of the id."""
    return order_id.hex[:8].upper()
