"""Orders: checkout, the shopper's orders, paying, cancelling and returns; staff's view."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from api.access import CurrentPrincipal
from api.deps import ClientAddress, Currency, Payments, Rates, RedisClient, Session, Sessions
from api.problems import problem, responses
from commerce.identity.permissions import Permission
from commerce.inputs import Timestamp
from commerce.orders import service
from commerce.orders.checkout import Checkout, UnpaidCaps, place_order
from commerce.orders.schemas import (
    CancelIn,
    OrderFilters,
    OrderIn,
    OrderOut,
    OrderSummary,
    PayIn,
    ReturnDecision,
    ReturnIn,
    ReturnOut,
    StatusChange,
)
from commerce.orders.states import Status
from commerce.pages import Page
from commerce.rewards import service as rewards
from commerce.rewards.standing import TakeBack

router = APIRouter(tags=["orders"])
admin = APIRouter(tags=["orders"])

IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": True,
    "description": "A new UUID per checkout, the same one on retries.",
    "schema": {"type": "string", "maxLength": 255, "pattern": "^[ -~]*[!-~][ -~]*$"},
}
ERRORS = responses(401, 422)
PageNumber = Annotated[int, Query(ge=1, le=10_000)]
PageSize = Annotated[int, Query(ge=1, le=100)]


@router.post(
    "/api/orders",
    status_code=201,
    response_model=OrderOut,
    responses={**ERRORS, **responses(403, 409, 428, 429, 503)},
    # Read by the route (a missing key is a 428, not a validation error), documented as
    # the required header it is.
    openapi_extra={"parameters": [IDEMPOTENCY_KEY]},
)
async def create_order(
    request: Request,
    data: OrderIn,
    principal: CurrentPrincipal,
    sessions: Sessions,
    redis: RedisClient,
    rates: Rates,
    currency: Currency,
    address: ClientAddress,
) -> OrderOut:
    """Check out the cart: every line's stock is held and the order is PENDING until paid,
    with `payment_method` now (held 15 minutes, `RESERVATION_MINUTES`) or by POST
    /api/orders/{id}/pay (held 5, `UNPAID_RESERVATION_MINUTES`).

    Orders placed without a payment method are capped while they hold stock unpaid: 3 per
    customer (`UNPAID_ORDERS_PER_CUSTOMER`; 409 listing them in `open_orders`: pay or
    cancel one) and 10 per address (`UNPAID_ORDERS_PER_ADDRESS`; 429 with Retry-After);
    `limit` names which.

    While orders are confirmed more than `CHECKOUT_PAUSE_AFTER_SECONDS` (2) behind, new
    checkouts get 503 with Retry-After and nothing is placed.

    Send an `Idempotency-Key` (428 without one): a retry with the same key and body returns
    the same order; the same key with another body is a 422. 409 names the lines short of
    stock (nothing is held), the lines whose price changed (accept them in
    `acknowledged_prices`), an empty cart, or another checkout of this cart in progress.
    """
    await request.app.state.checkout_gate.admit()
    settings = request.app.state.settings
    checkout = Checkout(
        sessions,
        redis,
        rates,
        hold=timedelta(minutes=settings.reservation_minutes),
        hold_unpaid=timedelta(minutes=settings.unpaid_reservation_minutes),
        caps=UnpaidCaps(settings.unpaid_orders_per_customer, settings.unpaid_orders_per_address),
    )
    chosen = data.currency or currency
    key = request.headers.get("idempotency-key")
    return await place_order(checkout, principal.user_id, data, chosen, key, address)


@router.get("/api/orders", response_model=Page[OrderSummary], responses=responses(401, 422))
async def list_my_orders(
    principal: CurrentPrincipal, session: Session, page: PageNumber = 1, size: PageSize = 20
) -> Page[OrderSummary]:
    """Your orders, newest first."""
    mine = OrderFilters(customer_id=principal.user_id)
    return await service.list_orders(session, mine, page=page, size=size)


@router.get(
    "/api/orders/{order_id}", response_model=OrderOut, responses={**ERRORS, **responses(404)}
)
async def get_order(order_id: uuid.UUID, principal: CurrentPrincipal, session: Session) -> OrderOut:
    """One of your orders (staff with MANAGE_ORDERS: anyone's), in the currency it was
    placed in, with its payments and returns."""
    staff = Permission.MANAGE_ORDERS in principal.permissions
    return await service.show_order(session, order_id, principal.user_id, staff=staff)


@router.post(
    "/api/orders/{order_id}/pay",
    response_model=OrderOut,
    responses={**ERRORS, **responses(402, 404, 409)},
)
async def pay_order(
    request: Request,
    order_id: uuid.UUID,
    data: PayIn,
    principal: CurrentPrincipal,
    sessions: Sessions,
    provider: Payments,
) -> OrderOut | JSONResponse:
    """Pay a PENDING order with a provider token. A decline is a 402 problem naming the
    provider's code; the order then FAILS and its stock is released."""
    async with sessions() as session, session.begin():
        order, payment = await service.pay(
            session, provider, order_id, principal.user_id, data.payment_method
        )
    if payment.status == "FAILED":
        return problem(
            request,
            402,
            "Payment declined",
            f"The payment was not taken: {payment.failure}.",
            code=payment.failure,
            order_id=str(order_id),
        )
    return order


@router.post(
    "/api/orders/{order_id}/cancel",
    response_model=OrderOut,
    responses={**ERRORS, **responses(404, 409)},
)
async def cancel_order(
    order_id: uuid.UUID,
    principal: CurrentPrincipal,
    session: Session,
    data: CancelIn | None = None,
) -> OrderOut:
    """Cancel your order (staff: anyone's) until it ships: held stock is released, sold
    stock restocked, and a paid order refunded. 409 once SHIPPED or DELIVERED, and 409
    (`spent_on`) when the order helped earn a quest reward already spent on another order
    that stands: cancel that one first."""
    staff = Permission.MANAGE_ORDERS in principal.permissions
    if not staff:
        await rewards.guard_take_back(session, principal.user_id, TakeBack(order_id))
    reason = data.reason if data else None
    return await service.cancel(session, order_id, principal.user_id, staff=staff, reason=reason)


@router.post(
    "/api/orders/{order_id}/returns",
    status_code=201,
    response_model=ReturnOut,
    responses={**ERRORS, **responses(404, 409)},
)
async def request_return(
    order_id: uuid.UUID, data: ReturnIn, principal: CurrentPrincipal, session: Session
) -> ReturnOut:
    """Ask to return units of a delivered order, within 30 days of delivery; staff approve
    (restock and refund what the units were paid, discount included) or reject. 409
    (`spent_on`) when the units helped earn a quest reward already spent elsewhere."""
    units: dict[uuid.UUID, int] = {}
    for line in data.lines:
        units[line.line_id] = units.get(line.line_id, 0) + line.quantity
    await rewards.guard_take_back(session, principal.user_id, TakeBack(order_id, units))
    return await service.request_return(session, order_id, principal.user_id, data)


@admin.get(
    "/api/admin/orders", response_model=Page[OrderSummary], responses=responses(401, 403, 422)
)
async def list_orders(
    session: Session,
    status: Status | None = None,
    customer_id: uuid.UUID | None = None,
    created_from: Annotated[Timestamp | None, Query(description="ISO 8601, with zone")] = None,
    created_to: Annotated[Timestamp | None, Query(description="ISO 8601, with zone")] = None,
    page: PageNumber = 1,
    size: PageSize = 20,
) -> Page[OrderSummary]:
    """Every order, newest first, by status, customer and creation time (from ≤ t < to)."""
    filters = OrderFilters(
        status=status, customer_id=customer_id, created_from=created_from, created_to=created_to
    )
    return await service.list_orders(session, filters, page=page, size=size)


@admin.patch(
    "/api/admin/orders/{order_id}/status",
    response_model=OrderOut,
    responses={**responses(401, 403, 404, 409, 422)},
)
async def change_status(order_id: uuid.UUID, data: StatusChange, session: Session) -> OrderOut:
    """Move a paid order along: CONFIRMED → PROCESSING → SHIPPED → DELIVERED. An illegal
    move is a 409 naming the allowed ones."""
    return await service.change_status(session, order_id, data.status)


@admin.get("/api/admin/returns", response_model=Page[ReturnOut], responses=responses(401, 403, 422))
async def list_returns(
    session: Session, page: PageNumber = 1, size: PageSize = 20
) -> Page[ReturnOut]:
    """Returns waiting for a decision, oldest first."""
    return await service.list_requested_returns(session, page=page, size=size)


@admin.patch(
    "/api/admin/returns/{return_id}",
    response_model=ReturnOut,
    responses={**responses(401, 403, 404, 409, 422)},
)
async def decide_return(return_id: uuid.UUID, data: ReturnDecision, session: Session) -> ReturnOut:
    """APPROVED restocks the units and refunds them; REJECTED closes the request."""
    return await service.decide_return(session, return_id, data)
