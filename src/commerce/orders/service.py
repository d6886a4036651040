"""Order use cases after checkout: read, pay, cancel, move along, expire and return.

Every change locks the order's row first (then the coupon, then stock rows, the same order
checkout takes), changes rows and writes its event in the caller's transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from commerce.currency.money import round_money
from commerce.errors import InvalidInput
from commerce.events import OrderChanged, OrderReturned
from commerce.inventory import reservations
from commerce.orders.errors import (
    IllegalTransition,
    NotReturnable,
    OrderNotFound,
    PaymentNotPossible,
    ReturnNotFound,
)
from commerce.orders.models import Order, OrderReturn
from commerce.orders.repository import OrderRepository
from commerce.orders.schemas import (
    OrderFilters,
    OrderOut,
    OrderSummary,
    ReturnDecision,
    ReturnIn,
    ReturnOut,
)
from commerce.orders.states import CANCELLABLE, PAID, Status, can_move, staff_targets
from commerce.orders.views import order_out, summary
from commerce.outbox import add_event
from commerce.pages import Page
from commerce.payments import service as payments
from commerce.payments.models import Payment
from commerce.payments.provider import PaymentProvider
from commerce.promotions import service as coupons

RETURN_WINDOW = timedelta(days=30)


async def show_order(
    session: AsyncSession, order_id: uuid.UUID, viewer: uuid.UUID, *, staff: bool
) -> OrderOut:
    return await order_out(session, await _order(session, order_id, viewer, staff=staff))


async def list_orders(
    session: AsyncSession, filters: OrderFilters, *, page: int, size: int
) -> Page[OrderSummary]:
    orders, total = await OrderRepository(session).page(
        filters, offset=(page - 1) * size, limit=size
    )
    items = [summary(order) for order in orders]
    return Page[OrderSummary](items=items, total=total, page=page, size=size)


async def pay(
    session: AsyncSession,
    provider: PaymentProvider,
    order_id: uuid.UUID,
    owner: uuid.UUID,
    token: str,
) -> tuple[OrderOut, Payment]:
    """Charge a pending order now (its first payment was declined, or none came with it)."""
    order = await _order(session, order_id, owner, staff=False, for_update=True)
    if order.status != Status.PENDING:
        raise PaymentNotPossible(f"The order is {order.status}: only a PENDING order is paid.")
    if order.paid_at is not None:
        raise PaymentNotPossible("The order is paid already.")
    if order.expires_at <= datetime.now(UTC):
        raise PaymentNotPossible("The order's reservation has expired: check out again.")
    payment = await charge(session, provider, order, token)
    return await order_out(session, order), payment


async def charge(
    session: AsyncSession, provider: PaymentProvider, order: Order, token: str
) -> Payment:
    """Charge a PENDING, unpaid order the caller has locked; the token is used once."""
    bill = payments.Bill(order.id, order.total, order.currency, pay_by=order.expires_at)
    payment = await payments.charge(session, provider, bill, token)
    order.payment_token = None
    if payment.status == payments.SUCCEEDED:
        order.paid_at = datetime.now(UTC)
    return payment


async def cancel(
    session: AsyncSession,
    order_id: uuid.UUID,
    actor: uuid.UUID,
    *,
    staff: bool,
    reason: str | None,
) -> OrderOut:
    """Cancel until the order ships: held stock is released, sold stock restocked, the
    coupon's use given back, and what was paid refunded (by the payments step)."""
    order = await _order(session, order_id, actor, staff=staff, for_update=True)
    if Status(order.status) not in CANCELLABLE:
        raise IllegalTransition(order.status, Status.CANCELLED, sorted(_allowed(order.status)))
    if Status(order.status) in PAID:
        await reservations.restock(session, order.id)
    else:
        await reservations.release(session, order.id)
    await coupons.release(session, order.id)
    refund = order.total if order.paid_at is not None else Decimal(0)
    _move(session, order, Status.CANCELLED, reason or "cancelled", refund=refund)
    return await order_out(session, order)


async def change_status(session: AsyncSession, order_id: uuid.UUID, target: str) -> OrderOut:
    """Staff move a paid order along: PROCESSING, SHIPPED, DELIVERED."""
    order = await _order(session, order_id, None, staff=True, for_update=True)
    if target not in staff_targets(order.status):
        raise IllegalTransition(order.status, target, staff_targets(order.status))
    if target == Status.DELIVERED:
        order.delivered_at = datetime.now(UTC)
    _move(session, order, Status(target), None, event="order.status_changed")
    return await order_out(session, order)


async def confirm_paid(session: AsyncSession, order_id: uuid.UUID) -> bool:
    """payment.succeeded: a pending order is CONFIRMED and its held stock sold."""
    return bool(await confirm_paid_orders(session, [order_id]))


async def confirm_paid_orders(
    session: AsyncSession, order_ids: Sequence[uuid.UUID]
) -> list[uuid.UUID]:
    """payment.succeeded for several orders in one transaction: each one still pending is
    CONFIRMED and its held stock sold, the stock rows they share locked once. Returns those
    confirmed (one cancelled meanwhile is not: the cancellation refunds what was paid)."""
    locked = await OrderRepository(session).lock(order_ids)
    pending = [order for order in locked if order.status == Status.PENDING]
    if not pending:
        return []
    for order in pending:
        _move(session, order, Status.CONFIRMED, "paid")
    # Written before the stock rows are locked, as at checkout: a hot SKU's row is held
    # only for the stock's own statements and the commit.
    await session.flush()
    await reservations.commit(session, [order.id for order in pending])
    return [order.id for order in pending]


async def fail_unpaid(session: AsyncSession, order_id: uuid.UUID, reason: str | None) -> bool:
    """payment.failed: a pending, unpaid order FAILS and gives its stock and coupon back."""
    order = await OrderRepository(session).get(order_id, for_update=True)
    if order is None or order.status != Status.PENDING or order.paid_at is not None:
        return False
    await _let_go(session, order)
    _move(session, order, Status.FAILED, reason or "payment failed")
    return True


async def expire_due(session: AsyncSession, *, now: datetime, limit: int = 200) -> int:
    """Unpaid orders past their reservation: stock released, coupon given back, EXPIRED."""
    due = await OrderRepository(session).due_for_expiry(now, limit)
    for order in due:
        await _let_go(session, order)
        _move(session, order, Status.EXPIRED, "reservation expired")
    return len(due)


async def request_return(
    session: AsyncSession, order_id: uuid.UUID, owner: uuid.UUID, data: ReturnIn
) -> ReturnOut:
    """The owner asks to send delivered units back, within 30 days of delivery."""
    order = await _order(session, order_id, owner, staff=False, for_update=True)
    if order.status != Status.DELIVERED or order.delivered_at is None:
        raise NotReturnable(f"Only delivered orders can be returned; this one is {order.status}.")
    if datetime.now(UTC) - order.delivered_at > RETURN_WINDOW:
        raise NotReturnable(f"Returns close {RETURN_WINDOW.days} days after delivery.")
    repo = OrderRepository(session)
    lines = {line.id: line for line in await repo.lines(order.id)}
    asked: dict[uuid.UUID, int] = {}
    for item in data.lines:
        asked[item.line_id] = asked.get(item.line_id, 0) + item.quantity
    pending = await _pending_returns(repo, order.id)
    refund = Decimal(0)
    for line_id, quantity in asked.items():
        line = lines.get(line_id)
        if line is None:
            raise InvalidInput(f"Order {order.id} has no line {line_id}.", line_id=str(line_id))
        left = line.quantity - line.returned_quantity - pending.get(line_id, 0)
        if quantity > left:
            raise NotReturnable(
                f"{line.sku}: {left} unit(s) can still be returned, not {quantity}.",
                line_id=str(line_id),
                returnable=left,
            )
        refund += round_money(line.total * quantity / line.quantity, order.currency)
    request = OrderReturn(
        id=uuid.uuid4(),
        order_id=order.id,
        status="REQUESTED",
        lines={str(line_id): quantity for line_id, quantity in asked.items()},
        refund=refund,
        reason=data.reason,
    )
    session.add(request)
    await session.flush()
    await session.refresh(request)
    return ReturnOut.model_validate(request)


async def list_requested_returns(session: AsyncSession, *, page: int, size: int) -> Page[ReturnOut]:
    rows, total = await OrderRepository(session).requested_returns(
        offset=(page - 1) * size, limit=size
    )
    items = [ReturnOut.model_validate(row) for row in rows]
    return Page[ReturnOut](items=items, total=total, page=page, size=size)


async def decide_return(
    session: AsyncSession, return_id: uuid.UUID, decision: ReturnDecision
) -> ReturnOut:
    """Staff approve (restock, and refund the lines' paid amounts) or reject a return."""
    repo = OrderRepository(session)
    request = await repo.return_(return_id)
    if request is None:
        raise ReturnNotFound(return_id)
    order = await repo.get(request.order_id, for_update=True)
    request = await repo.return_(return_id, for_update=True)
    assert order is not None and request is not None
    if request.status != "REQUESTED":
        raise NotReturnable(f"This return was {request.status.lower()} already.")
    request.status, request.note = decision.status, decision.note
    request.decided_at = datetime.now(UTC)
    if decision.status == "APPROVED":
        units = {uuid.UUID(line_id): quantity for line_id, quantity in request.lines.items()}
        for line in await repo.lines(order.id, for_update=True):
            line.returned_quantity += units.get(line.id, 0)
        await reservations.take_back(session, order.id, units)
        order.version += 1
        add_event(
            session,
            "order.returned",
            order.id,
            order.version,
            OrderReturned(
                order_id=order.id,
                customer_id=order.customer_id,
                return_id=request.id,
                currency=order.currency,
                refund=request.refund,
                lines=request.lines,
            ),
        )
    await session.flush()
    await session.refresh(request)
    return ReturnOut.model_validate(request)


async def _pending_returns(repo: OrderRepository, order_id: uuid.UUID) -> dict[uuid.UUID, int]:
    pending: dict[uuid.UUID, int] = {}
    for request in await repo.returns(order_id):
        if request.status == "REQUESTED":
            for line_id, quantity in request.lines.items():
                pending[uuid.UUID(line_id)] = pending.get(uuid.UUID(line_id), 0) + quantity
    return pending


async def _let_go(session: AsyncSession, order: Order) -> None:
    await reservations.release(session, order.id)
    await coupons.release(session, order.id)


def _allowed(status: str) -> set[str]:
    return {str(s) for s in (Status.CANCELLED, *staff_targets(status)) if can_move(status, s)}


def _move(
    session: AsyncSession,
    order: Order,
    target: Status,
    reason: str | None,
    *,
    refund: Decimal = Decimal(0),
    event: str | None = None,
) -> None:
    previous = order.status
    order.status = target
    order.version += 1
    order.updated_at = datetime.now(UTC)
    add_event(
        session,
        event or f"order.{target.lower()}",
        order.id,
        order.version,
        OrderChanged(
            order_id=order.id,
            customer_id=order.customer_id,
            status=target,
            previous=previous,
            reason=reason,
            currency=order.currency,
            total=order.total,
            refund=refund,
        ),
    )


async def _order(
    session: AsyncSession,
    order_id: uuid.UUID,
    viewer: uuid.UUID | None,
    *,
    staff: bool,
    for_update: bool = False,
) -> Order:
    """The order, if the viewer owns it or is staff; 404 otherwise (others' ids stay secret)."""
    order = await OrderRepository(session).get(order_id, for_update=for_update)
    if order is None or (not staff and order.customer_id != viewer):
        raise OrderNotFound(order_id)
    return order
