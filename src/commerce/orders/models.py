"""Order tables: the order, its lines (priced in its currency) and returns of its lines."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from commerce.db import Base

Money = Numeric(14, 2)


class Order(Base):
    __tablename__ = "orders"
    __table_args__ = (
        # A retried checkout finds its order by the key the client sent.
        UniqueConstraint("customer_id", "idempotency_key", name="uq_orders_idempotency_key"),
        Index("ix_orders_customer_created", "customer_id", "created_at"),
        Index("ix_orders_status_expires", "status", "expires_at"),
        Index("ix_orders_created", "created_at"),
        Index(
            "ix_orders_pending_placed_from",
            "placed_from",
            "expires_at",
            postgresql_where=text("status = 'PENDING'"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    customer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    status: Mapped[str] = mapped_column(String(16))
    currency: Mapped[str] = mapped_column(String(3))
    #: Units of `currency` per US dollar used to price the lines, and its publication day.
    rate: Mapped[Decimal] = mapped_column(Numeric(20, 10))
    rate_date: Mapped[date] = mapped_column(Date)
    subtotal: Mapped[Decimal] = mapped_column(Money)
    discount: Mapped[Decimal] = mapped_column(Money)
    total: Mapped[Decimal] = mapped_column(Money)
    coupon_code: Mapped[str | None] = mapped_column(String(32))
    shipping_address: Mapped[dict[str, Any]] = mapped_column(JSONB)
    billing_address: Mapped[dict[str, Any]] = mapped_column(JSONB)
    #: The provider's single-use token to charge, kept only until the payments step uses it.
    payment_token: Mapped[str | None] = mapped_column(String(64))
    paid_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    idempotency_key: Mapped[str] = mapped_column(String(255))
    #: SHA-256 of the request body: the same key with another body is refused.
    request_hash: Mapped[str] = mapped_column(String(64))
    #: Unpaid by then, the reservation is released and the order EXPIRED.
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    #: Whom the checkout came from (an IPv4 address or an IPv6 /64): unpaid orders are
    #: capped per address as well as per customer.
    placed_from: Mapped[str | None] = mapped_column(String(64))
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    #: Set with each status change (not by the database on every write: a server-side
    #: default would expire the attribute and need a query to show the order again).
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class OrderLine(Base):
    __tablename__ = "order_lines"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    order_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("orders.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    product_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("products.id"))
    variant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("product_variants.id"))
    sku: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    #: The product's category when the order was placed, for sales by category.
    category: Mapped[str] = mapped_column(String(80))
    options: Mapped[dict[str, str]] = mapped_column(JSONB, default=dict)
    quantity: Mapped[int] = mapped_column(Integer)
    #: In the order's currency; `base_unit_price` is the US dollar price it came from.
    unit_price: Mapped[Decimal] = mapped_column(Money)
    base_unit_price: Mapped[Decimal] = mapped_column(Money)
    #: The coupon's share of the whole line.
    discount: Mapped[Decimal] = mapped_column(Money)
    total: Mapped[Decimal] = mapped_column(Money)
    returned_quantity: Mapped[int] = mapped_column(Integer, default=0)


class OrderReturn(Base):
    """A shopper's request to send delivered lines back; staff approve or reject it."""

    __tablename__ = "order_returns"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    order_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("orders.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    #: Order line id -> units.
    lines: Mapped[dict[str, int]] = mapped_column(JSONB)
    #: What the lines' units were paid (their discount taken off), in the order's currency.
    refund: Mapped[Decimal] = mapped_column(Money)
    reason: Mapped[str] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
