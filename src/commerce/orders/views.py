"""An order as shown: its lines, payments and returns."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from commerce.orders.models import Order
from commerce.orders.repository import OrderRepository
from commerce.orders.schemas import OrderLineOut, OrderOut, PaymentOut, ReturnOut


async def order_out(session: AsyncSession, order: Order) -> OrderOut:
    repo = OrderRepository(session)
    fields = {name: getattr(order, name) for name in OrderOut.model_fields if hasattr(order, name)}
    return OrderOut.model_validate(
        {
            **fields,
            "lines": [OrderLineOut.model_validate(line) for line in await repo.lines(order.id)],
            "payments": [PaymentOut.model_validate(p) for p in await repo.payments(order.id)],
            "returns": [ReturnOut.model_validate(r) for r in await repo.returns(order.id)],
        }
    )
