"""The saga's steps on the orders' side and the payments' side, for the worker's handler
table: each takes an event and a unit of work, and changes rows in it once."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from decimal import Decimal

from commerce.events import Envelope, OrderChanged, OrderPlaced, OrderReturned, PaymentRecorded
from commerce.orders import service
from commerce.orders.repository import OrderRepository
from commerce.orders.states import Status
from commerce.payments import service as payments
from commerce.payments.provider import PaymentProvider
from commerce.unit_of_work import UnitOfWork

Step = Callable[[Envelope, UnitOfWork], Awaitable[None]]


async def order_steps(event: Envelope, uow: UnitOfWork) -> None:
    """payment.succeeded confirms the order and sells its stock; payment.failed fails it
    and releases its stock."""
    payment = PaymentRecorded.model_validate(event.payload)
    if event.type == "payment.succeeded":
        await service.confirm_paid(uow.session, payment.order_id)
    elif event.type == "payment.failed":
        await service.fail_unpaid(uow.session, payment.order_id, payment.reason)


def payment_steps(provider: PaymentProvider) -> Step:
    """order.created with a payment method is charged; a cancelled paid order and an
    approved return are refunded."""

    async def step(event: Envelope, uow: UnitOfWork) -> None:
        if event.type == "order.created":
            placed = OrderPlaced.model_validate(event.payload)
            if placed.pays_now:
                await _charge(uow, provider, placed.order_id)
        elif event.type == "order.cancelled":
            cancelled = OrderChanged.model_validate(event.payload)
            await _refund(uow, provider, cancelled.order_id, cancelled.refund, "cancelled")
        elif event.type == "order.returned":
            returned = OrderReturned.model_validate(event.payload)
            await _refund(
                uow, provider, returned.order_id, returned.refund, f"return {returned.return_id}"
            )

    return step


async def _charge(uow: UnitOfWork, provider: PaymentProvider, order_id: uuid.UUID) -> None:
    order = await OrderRepository(uow.session).get(order_id, for_update=True)
    if order is None or order.status != Status.PENDING or order.paid_at is not None:
        return
    if order.payment_token is None:
        return
    await payments.charge(uow.session, provider, order, order.payment_token)


async def _refund(
    uow: UnitOfWork, provider: PaymentProvider, order_id: uuid.UUID, amount: Decimal, why: str
) -> None:
    if amount > 0:
        key = f"refund-{order_id}-{why.replace(' ', '-')}"
        await payments.refund(uow.session, provider, order_id, amount, key=key, reason=why)
