"""Coupon tables: the codes staff create and each use of one."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from sqlalchemy import DateTime, ForeignKey, Index, Integer, Numeric, String, func, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from commerce.db import Base


class Coupon(Base):
    __tablename__ = "coupons"
    __table_args__ = (
        # Codes are case-insensitive: "summer10" and "SUMMER10" are one code.
        Index(
            "uq_coupons_live_code",
            func.lower(text("code")),
            unique=True,
            postgresql_where=text("archived_at IS NULL"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    #: As the merchant wrote it; matched case-insensitively.
    code: Mapped[str] = mapped_column(String(32))
    #: "percentage" (value is percent off) or "fixed" (value is an amount in `currency`).
    kind: Mapped[str] = mapped_column(String(16))
    value: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    #: Of the fixed amount and of the minimum subtotal; none for a percentage without minimum.
    currency: Mapped[str | None] = mapped_column(String(3))
    min_subtotal: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    valid_from: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    valid_to: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    usage_limit: Mapped[int | None] = mapped_column(Integer)
    per_customer_limit: Mapped[int | None] = mapped_column(Integer)
    times_used: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    #: Category slugs (each with its subtree) and brand slugs the discount is limited to.
    categories: Mapped[list[str]] = mapped_column(JSONB, default=list, server_default="[]")
    brands: Mapped[list[str]] = mapped_column(JSONB, default=list, server_default="[]")
    #: A code granted to one customer (a quest's reward): nobody else may use it.
    owner_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )
    archived_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class CouponRedemption(Base):
    """One use of a coupon, written in the order's transaction; released if the order fails."""

    __tablename__ = "coupon_redemptions"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    coupon_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("coupons.id"), index=True)
    customer_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"), index=True)
    #: The order it was redeemed for (orders arrive with checkout); unique: one use per order.
    order_id: Mapped[uuid.UUID | None] = mapped_column(unique=True)
    discount: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    currency: Mapped[str] = mapped_column(String(3))
    redeemed_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
