"""A plausible past for the demo shop, so dashboards have something real to show.

`storefront demo history --days 365` writes, for each past day, orders with their lines and
payments (paid, declined, expired; a few paid ones cancelled and refunded), new and
returning customers, and the day's client events and searches, each with its domain event
in the outbox dated when it happened. The worker streams them into the warehouse like any
other events. Orders follow the season (a November-December peak, a summer lull) and the
week (busier weekends), and grow through the year.

History does not touch stock: those units were sold and shipped long ago. The customers it
creates cannot sign in (they have no password).
"""

from __future__ import annotations

import math
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from pydantic import BaseModel
from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import AsyncSession

from commerce.currency.money import round_money
from commerce.currency.rates import shipped_snapshot
from commerce.db import column_values
from commerce.events import (
    ActivityTracked,
    OrderChanged,
    PaymentRecorded,
    SearchesAnswered,
    SearchPerformed,
    UserRegistered,
)
from commerce.models import Order, OrderLine, OutboxRow, Payment, User
from commerce.orders.checkout import placed_event
from commerce.orders.states import Status
from commerce.outbox import outbox_row
from commerce.tracking.searches import BATCH

KEY_PREFIX = "history-"
#: The card a past order was placed with (its charge spends it).
PAID_WITH = "tok_visa"
CURRENCIES = (("USD", 70), ("EUR", 14), ("GBP", 9), ("CAD", 4), ("JPY", 3))
ADDRESS = {
    "name": "Past Customer",
    "line1": "1 History Lane",
    "city": "Springfield",
    "postal_code": "12345",
    "country": "us",
}
EXPIRY = timedelta(minutes=15)
MISSES = ("teapto", "blnket", "xyzzy lamp", "solar kettel", "quantum socks", "gift crd")

PRODUCTS = text("""
SELECT p.id, v.id AS variant_id, v.sku, p.name, c.slug AS category, p.price
FROM products p
JOIN product_variants v ON v.product_id = p.id AND v.deleted_at IS NULL
JOIN categories c ON c.id = p.category_id
WHERE p.deleted_at IS NULL
ORDER BY p.sku LIMIT 2000
""")
ALREADY = text("SELECT EXISTS (SELECT 1 FROM orders WHERE idempotency_key LIKE 'history-%')")
CUSTOMER_ROLE = text("SELECT id FROM roles WHERE name = 'CUSTOMER'")


@dataclass
class _Day:
    users: list[dict[str, Any]] = field(default_factory=list)
    orders: list[dict[str, Any]] = field(default_factory=list)
    lines: list[dict[str, Any]] = field(default_factory=list)
    payments: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)

    def event(self, type: str, key: object, payload: BaseModel, at: datetime) -> None:
        self.events.append(outbox_row(type, key, 1, payload, at))


class NoCatalog(RuntimeError):
    pass


def orders_on(day: date, first: date, base: float, rng: random.Random) -> int:
    """How many orders a day sees: season, weekday, growth and noise multiplied."""
    season = 1.0 + 0.6 * math.exp(-(((day.timetuple().tm_yday - 340) / 25) ** 2))
    season -= 0.2 * math.exp(-(((day.timetuple().tm_yday - 200) / 30) ** 2))
    weekday = 1.3 if day.weekday() >= 5 else 1.0
    growth = 1.0 + 0.5 * (day - first).days / 365
    return max(0, round(base * season * weekday * growth * rng.uniform(0.8, 1.2)))


async def load_history(
    session: AsyncSession,
    days: int,
    *,
    orders_per_day: float = 30.0,
    end: date | None = None,
    seed: int = 20261126,
    progress: Callable[[int], None] = lambda n: None,
) -> int:
    """Write `days` days of history ending yesterday (or `end`); returns orders written.

    Refuses (returns 0) when history was loaded before; raises NoCatalog without products.
    """
    if await session.scalar(ALREADY):
        return 0
    products = list((await session.execute(PRODUCTS)).all())
    if not products:
        raise NoCatalog("Load a catalog first (storefront load-demo).")
    role = await session.scalar(CUSTOMER_ROLE)
    rng = random.Random(seed)
    last = end or datetime.now(UTC).date() - timedelta(days=1)
    first = last - timedelta(days=days - 1)
    buyers: list[uuid.UUID] = []
    written = 0
    for offset in range(days):
        day = first + timedelta(days=offset)
        batch = _Day()
        for _ in range(orders_on(day, first, orders_per_day, rng)):
            customer = _customer(batch, buyers, role, day, rng)
            _order(batch, customer, products, day, last, rng)
        _activity(batch, products, day, len(batch.orders), rng)
        await _write(session, batch)
        written += len(batch.orders)
        progress(1)
    return written


def _at(day: date, rng: random.Random) -> datetime:
    return datetime.combine(day, time(), UTC) + timedelta(seconds=rng.randint(0, 86_399))


def _customer(
    batch: _Day, buyers: list[uuid.UUID], role: Any, day: date, rng: random.Random
) -> uuid.UUID:
    """A returning buyer about a third of the time, once there are some; else a new one."""
    if buyers and rng.random() < 0.35:
        return rng.choice(buyers)
    customer = uuid.UUID(int=rng.getrandbits(128), version=4)
    joined = _at(day - timedelta(days=rng.randint(0, 30)), rng)
    email = f"{KEY_PREFIX}{customer.hex[:12]}@customers.example.com"
    batch.users.append(
        {
            "id": customer,
            "email": email,
            "password_hash": "!history",
            "first_name": "Past",
            "last_name": "Customer",
            "role_id": role,
            "active": True,
            "created_at": joined,
            "updated_at": joined,
        }
    )
    registered = UserRegistered(
        user_id=customer, email=email, first_name="Past", last_name="Customer", role="CUSTOMER"
    )
    batch.event("user.registered", customer, registered, joined)
    buyers.append(customer)
    return customer


def _order(
    batch: _Day,
    customer: uuid.UUID,
    products: list[Any],
    day: date,
    last: date,
    rng: random.Random,
) -> None:
    placed = _at(day, rng)
    currency = rng.choices([c for c, _ in CURRENCIES], [w for _, w in CURRENCIES])[0]
    rate = shipped_snapshot().per_usd[currency]
    order_id = uuid.UUID(int=rng.getrandbits(128), version=4)
    lines = []
    for position, product in enumerate(rng.sample(products, rng.choice([1, 1, 1, 2, 2, 3]))):
        quantity = rng.choice([1, 1, 1, 2, 3])
        unit = round_money(product.price * rate, currency)
        line_id = uuid.UUID(int=rng.getrandbits(128), version=4)
        lines.append(_line(line_id, order_id, position, product, quantity, unit))
    total = sum((line.total for line in lines), Decimal(0))
    outcome = rng.random()
    status = (
        Status.FAILED if outcome < 0.05 else Status.EXPIRED if outcome < 0.08 else Status.CONFIRMED
    )
    paid_at = placed + timedelta(seconds=rng.randint(1, 20)) if status == Status.CONFIRMED else None
    cancelled = status == Status.CONFIRMED and rng.random() < 0.04
    if status == Status.CONFIRMED:
        status = (
            Status.CANCELLED
            if cancelled
            else Status.DELIVERED
            if day < last - timedelta(7)
            else status
        )
    order = Order(
        id=order_id,
        customer_id=customer,
        status=status,
        currency=currency,
        rate=rate,
        rate_date=day,
        subtotal=total,
        discount=Decimal(0),
        total=total,
        coupon_code=None,
        shipping_address=ADDRESS,
        billing_address=ADDRESS,
        payment_token=PAID_WITH,
        paid_at=paid_at,
        idempotency_key=f"{KEY_PREFIX}{order_id.hex}",
        request_hash="0" * 64,
        expires_at=placed + EXPIRY,
        delivered_at=None,
        version=1,
        created_at=placed,
        updated_at=placed,
    )
    # The event as checkout writes it, when the order was placed with a card to charge.
    batch.event("order.created", order_id, placed_event(order, lines), placed)
    order.payment_token = None  # spent by the charge, as the saga leaves it
    batch.orders.append(column_values(order))
    batch.lines += [column_values(line) for line in lines]
    _outcome(batch, order_id, customer, currency, total, placed, paid_at, status, cancelled, rng)


def _line(
    line_id: uuid.UUID,
    order_id: uuid.UUID,
    position: int,
    product: Any,
    quantity: int,
    unit: Decimal,
) -> OrderLine:
    return OrderLine(
        id=line_id,
        order_id=order_id,
        position=position,
        product_id=product.id,
        variant_id=product.variant_id,
        sku=product.sku,
        name=product.name,
        category=product.category,
        options={},
        quantity=quantity,
        unit_price=unit,
        base_unit_price=product.price,
        discount=Decimal(0),
        total=unit * quantity,
        returned_quantity=0,
    )


def _outcome(
    batch: _Day,
    order_id: uuid.UUID,
    customer: uuid.UUID,
    currency: str,
    total: Decimal,
    placed: datetime,
    paid_at: datetime | None,
    status: str,
    cancelled: bool,
    rng: random.Random,
) -> None:
    """The payment and what followed: confirmed (maybe later refunded), failed, expired."""

    def changed(to: str, previous: str, refund: Decimal = Decimal(0)) -> OrderChanged:
        return OrderChanged(
            order_id=order_id,
            customer_id=customer,
            status=to,
            previous=previous,
            currency=currency,
            total=total,
            refund=refund,
        )

    if status == Status.EXPIRED:
        batch.event(
            "order.expired", order_id, changed(Status.EXPIRED, Status.PENDING), placed + EXPIRY
        )
        return
    payment_id = uuid.UUID(int=rng.getrandbits(128), version=4)
    succeeded = paid_at is not None
    refunded_at = (paid_at or placed) + timedelta(days=rng.randint(1, 5))
    batch.payments.append(
        {
            "id": payment_id,
            "order_id": order_id,
            "provider": "sandbox",
            "reference": f"hist_{payment_id.hex[:16]}",
            "amount": total,
            "currency": currency,
            "status": "REFUNDED" if cancelled else "SUCCEEDED" if succeeded else "FAILED",
            "refunded": total if cancelled else Decimal(0),
            "failure": None if succeeded else "declined",
            "created_at": paid_at or placed,
            "updated_at": refunded_at if cancelled else paid_at or placed,
        }
    )
    recorded = PaymentRecorded(
        payment_id=payment_id,
        order_id=order_id,
        amount=total,
        currency=currency,
        status="SUCCEEDED" if succeeded else "FAILED",
        reason=None if succeeded else "declined",
    )
    at = paid_at or placed + timedelta(seconds=5)
    batch.event("payment.succeeded" if succeeded else "payment.failed", order_id, recorded, at)
    if not succeeded:
        batch.event("order.failed", order_id, changed(Status.FAILED, Status.PENDING), at)
        return
    batch.event("order.confirmed", order_id, changed(Status.CONFIRMED, Status.PENDING), at)
    if cancelled:
        batch.event(
            "order.cancelled",
            order_id,
            changed(Status.CANCELLED, Status.CONFIRMED, total),
            refunded_at,
        )
        refund = recorded.model_copy(update={"status": "REFUNDED", "reason": "order cancelled"})
        batch.event("payment.refunded", order_id, refund, refunded_at)


def _activity(batch: _Day, products: list[Any], day: date, orders: int, rng: random.Random) -> None:
    """The day's browsing: searches (some finding nothing), views, clicks, carts, checkouts."""
    sessions = [f"hist-{day:%Y%m%d}-{n:05d}" for n in range(max(orders * 3, 1))]
    searches: list[SearchPerformed] = []
    for _ in range(orders * 4):
        session, product = rng.choice(sessions), rng.choice(products)
        missed = rng.random() < 0.06
        query = rng.choice(MISSES) if missed else product.name.split()[-2].lower()
        at = _at(day, rng)
        searched = SearchPerformed(
            search_id=uuid.UUID(int=rng.getrandbits(128)),
            answered_at=at,
            session_id=session,
            query=query,
            filters={},
            sort="relevance",
            page=1,
            results=0 if missed else rng.randint(1, 80),
            latency_ms=round(rng.uniform(1, 9), 2),
        )
        searches.append(searched)
        if not missed and rng.random() < 0.5:
            clicked = ActivityTracked(
                session_id=session,
                product_id=product.id,
                query=query,
                position=rng.randint(1, 10),
            )
            batch.event("activity.search_result_clicked", session, clicked, at)
    _answered(batch, day, searches)
    for kind, per_order in (("product_viewed", 8), ("cart_viewed", 2), ("checkout_started", 1.3)):
        for _ in range(round(orders * per_order)):
            session = rng.choice(sessions)
            product = rng.choice(products).id if kind == "product_viewed" else None
            tracked = ActivityTracked(session_id=session, product_id=product)
            batch.event(f"activity.{kind}", session, tracked, _at(day, rng))


def _answered(batch: _Day, day: date, searches: list[SearchPerformed]) -> None:
    """The day's searches as an API process writes them: batches in the order answered."""
    searches.sort(key=lambda search: search.answered_at or datetime.min.replace(tzinfo=UTC))
    for start in range(0, len(searches), BATCH):
        chunk = searches[start : start + BATCH]
        flushed = chunk[-1].answered_at or datetime.combine(day, datetime.min.time(), UTC)
        batch.event("search.answered", f"hist-{day}", SearchesAnswered(searches=chunk), flushed)


async def _write(session: AsyncSession, batch: _Day) -> None:
    for model, rows in (
        (User, batch.users),
        (Order, batch.orders),
        (OrderLine, batch.lines),
        (Payment, batch.payments),
    ):
        if rows:
            await session.execute(insert(model), rows)
    if batch.events:
        batch.events.sort(key=lambda row: row["event"]["occurred_at"])
        await session.execute(insert(OutboxRow), batch.events)
