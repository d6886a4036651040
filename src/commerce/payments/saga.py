"""The payments' steps of the checkout saga; the handler table (`streams.handlers.HANDLERS`)
names each beside the event it takes. What an order gives back is refunded, once."""

from __future__ import annotations

import uuid
from decimal import Decimal

from commerce.events import Envelope, OrderChanged, OrderReturned
from commerce.payments import service
from commerce.payments.provider import PaymentProvider
from commerce.unit_of_work import UnitOfWork


async def refund_order(event: Envelope, uow: UnitOfWork, provider: PaymentProvider) -> None:
    """order.cancelled: what the order paid goes back."""
    cancelled = OrderChanged.model_validate(event.payload)
    await _refund(uow, provider, cancelled.order_id, cancelled.refund, "cancelled")


async def refund_return(event: Envelope, uow: UnitOfWork, provider: PaymentProvider) -> None:
    """order.returned: the approved return's amount goes back."""
    returned = OrderReturned.model_validate(event.payload)
    why = f"return {returned.return_id}"
    await _refund(uow, provider, returned.order_id, returned.refund, why)


async def _refund(
    uow: UnitOfWork, provider: PaymentProvider, order_id: uuid.UUID, amount: Decimal, why: str
) -> None:
    if amount > 0:
        key = f"refund-{order_id}-{why.replace(' ', '-')}"
        await service.refund(uow.session, provider, order_id, amount, key=key, reason=why)
