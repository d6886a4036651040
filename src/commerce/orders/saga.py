"""The orders' steps of the checkout saga; the handler table (`streams.handlers.HANDLERS`)
names each beside the event it takes. Each changes rows in the event's unit of work, once."""

from __future__ import annotations

from collections.abc import Sequence

from commerce.events import Envelope, OrderPlaced, PaymentRecorded
from commerce.orders import service
from commerce.orders.repository import OrderRepository
from commerce.orders.states import Status
from commerce.payments.provider import PaymentProvider
from commerce.unit_of_work import UnitOfWork


async def charge_placed(event: Envelope, uow: UnitOfWork, provider: PaymentProvider) -> None:
    """order.created with a payment method: charged, under the order's row lock, if it is
    still waiting for payment (a cancel or a payment by hand may have come first)."""
    placed = OrderPlaced.model_validate(event.payload)
    if not placed.pays_now:
        return
    order = await OrderRepository(uow.session).get(placed.order_id, for_update=True)
    if order is None or order.status != Status.PENDING or order.paid_at is not None:
        return
    if order.payment_token is not None:
        await service.charge(uow.session, provider, order, order.payment_token)


async def confirm_paid(events: Sequence[Envelope], uow: UnitOfWork) -> None:
    """payment.succeeded, a run of them: the orders are CONFIRMED and their held stock sold,
    together: the stock rows they share are locked once, not once an order (a hot SKU's
    row is the queue its checkouts and confirmations wait in)."""
    paid = [PaymentRecorded.model_validate(event.payload).order_id for event in events]
    await service.confirm_paid_orders(uow.session, paid)


async def fail_unpaid(event: Envelope, uow: UnitOfWork) -> None:
    """payment.failed: the order is FAILED and its held stock released."""
    payment = PaymentRecorded.model_validate(event.payload)
    await service.fail_unpaid(uow.session, payment.order_id, payment.reason)
