"""An order as shown: its lines, payments and returns, each amount in its currency's units.

Amounts are stored with two decimals whatever the currency; shown, a yen amount has none.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import TypeVar

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from commerce.currency.money import round_money
from commerce.orders.models import Order, OrderLine, OrderReturn
from commerce.orders.repository import OrderRepository
from commerce.orders.schemas import OrderLineOut, OrderOut, OrderSummary, PaymentOut, ReturnOut
from commerce.payments.models import Payment
from commerce.payments.repository import PaymentRepository

Shown = TypeVar("Shown", bound=BaseModel)


async def order_out(session: AsyncSession, order: Order) -> OrderOut:
    repo = OrderRepository(session)
    return shown(
        order,
        await repo.lines(order.id),
        await PaymentRepository(session).for_order(order.id),
        await repo.returns(order.id),
    )


def shown(
    order: Order,
    lines: Sequence[OrderLine],
    payments: Sequence[Payment] = (),
    returns: Sequence[OrderReturn] = (),
) -> OrderOut:
    """The order with its lines, payments and returns, as loaded (or just written)."""
    currency = order.currency
    fields = {name: getattr(order, name) for name in OrderOut.model_fields if hasattr(order, name)}
    out = OrderOut.model_validate(
        {
            **fields,
            "lines": [in_currency(OrderLineOut.model_validate(line), currency) for line in lines],
            "payments": [
                in_currency(PaymentOut.model_validate(payment), payment.currency)
                for payment in payments
            ],
            "returns": [
                in_currency(ReturnOut.model_validate(request), currency) for request in returns
            ],
        }
    )
    return in_currency(out, currency)


def summary(order: Order) -> OrderSummary:
    return in_currency(OrderSummary.model_validate(order), order.currency)


def in_currency(shown: Shown, currency: str) -> Shown:
    """Every Decimal field of `shown` to the currency's minor unit (JPY: whole yen)."""
    amounts = {
        name: round_money(value, currency)
        for name, value in shown
        if isinstance(value, Decimal) and name != "rate"
    }
    return shown.model_copy(update=amounts)
