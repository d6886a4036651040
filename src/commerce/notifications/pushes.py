"""Pushes: the events a signed-in person sees on their socket as they happen.

A customer sees their own orders and payments change; staff who may view the dashboard also
see new orders, cancellations, low stock and dead letters.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, Field

from commerce.events import Envelope
from commerce.inventory.schemas import LowStockCrossing

#: Events of an order its customer sees.
CUSTOMER_TYPES = frozenset(
    {
        "order.created",
        "order.confirmed",
        "order.failed",
        "order.expired",
        "order.cancelled",
        "order.status_changed",
        "order.returned",
        "payment.succeeded",
        "payment.failed",
        "payment.refunded",
    }
)
#: Events staff see as well.
STAFF_TYPES = frozenset({"order.created", "order.cancelled"})
#: A customer's rewards: the payload names the customer.
REWARD_TYPES = frozenset({"achievement.unlocked", "quest.completed", "quest.reopened"})
LOW_STOCK, DEAD_LETTER = "stock.low", "dead_letter.recorded"


class Push(BaseModel):
    """One message on the sockets of those it is for."""

    #: Its place in the push stream (set when published): a client that reconnects says the
    #: last one it saw and gets what came after.
    id: str = ""
    type: str
    occurred_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    #: The event it comes from (a redelivered event may be pushed twice: the same id).
    event_id: uuid.UUID | None = None
    data: dict[str, Any]
    #: Who sees it: this customer, and staff if `staff`.
    customer_id: uuid.UUID | None = None
    staff: bool = False

    def for_client(self) -> str:
        """As sent on a socket (JSON text)."""
        return self.model_dump_json(exclude={"staff"})


def order_of(event: Envelope) -> uuid.UUID | None:
    """The order an order or payment event is about."""
    if event.type.startswith("order."):
        return uuid.UUID(event.aggregate_id)
    order_id = event.payload.get("order_id")
    return uuid.UUID(str(order_id)) if order_id else None


def event_pushes(
    events: Sequence[Envelope], customers: Mapping[uuid.UUID, uuid.UUID]
) -> list[Push]:
    """The pushes of these events; `customers` gives each order's customer."""
    pushes = []
    for event in events:
        if event.type in REWARD_TYPES:
            customer: uuid.UUID | None = uuid.UUID(str(event.payload["customer_id"]))
        elif event.type in CUSTOMER_TYPES:
            order_id = order_of(event)
            customer = customers.get(order_id) if order_id else None
        else:
            continue
        pushes.append(
            Push(
                type=event.type,
                occurred_at=event.occurred_at,
                event_id=event.event_id,
                data=event.payload,
                customer_id=customer,
                staff=event.type in STAFF_TYPES,
            )
        )
    return pushes


def low_stock_push(crossing: LowStockCrossing) -> Push:
    return Push(type=LOW_STOCK, data=crossing.model_dump(mode="json"), staff=True)


def dead_letter_push(letter: Mapping[str, Any]) -> Push:
    return Push(type=DEAD_LETTER, data=dict(letter), staff=True)
