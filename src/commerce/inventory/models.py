"""Inventory tables: warehouses, stock per variant SKU and warehouse, and the movement ledger."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, DateTime, ForeignKey, Integer, String, func
from sqlalchemy.orm import Mapped, mapped_column

from commerce.db import Base


class Warehouse(Base):
    __tablename__ = "warehouses"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(120))


class StockLevel(Base):
    __tablename__ = "stock_levels"
    __table_args__ = (
        CheckConstraint("on_hand >= 0", name="on_hand_not_negative"),
        CheckConstraint("reserved >= 0 AND reserved <= on_hand", name="reserved_within_on_hand"),
    )

    variant_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("product_variants.id"), primary_key=True
    )
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("warehouses.id"), primary_key=True)
    #: The variant's product, kept here so a product's availability is one indexed sum.
    product_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("products.id"), index=True)
    on_hand: Mapped[int] = mapped_column(Integer, default=0)
    reserved: Mapped[int] = mapped_column(Integer, default=0)


class StockMovement(Base):
    """Append-only ledger: every change of on-hand stock, with why it happened."""

    __tablename__ = "stock_movements"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    product_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("products.id"), index=True)
    variant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("product_variants.id"), index=True)
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("warehouses.id"))
    delta: Mapped[int] = mapped_column(Integer)
    on_hand_after: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(200))
    #: ADJUSTED (a count or delivery), RESERVED, RELEASED, SOLD, RESTOCKED or RETURNED.
    kind: Mapped[str] = mapped_column(String(16), default="ADJUSTED", server_default="ADJUSTED")
    #: The change to reserved units: the ledger sums to both on_hand and reserved.
    reserved_delta: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    order_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Reservation(Base):
    """Units of one variant held in one warehouse for one order, and what became of them."""

    __tablename__ = "reservations"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    order_id: Mapped[uuid.UUID] = mapped_column(index=True)
    line_id: Mapped[uuid.UUID]
    product_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("products.id"))
    variant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("product_variants.id"))
    sku: Mapped[str] = mapped_column(String(64))
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("warehouses.id"))
    quantity: Mapped[int] = mapped_column(Integer)
    #: RESERVED, then SOLD (paid) or RELEASED (failed, expired, cancelled unpaid); a sold
    #: reservation is RESTOCKED when its paid order is cancelled.
    state: Mapped[str] = mapped_column(String(16), default="RESERVED")
    #: Units of a sold reservation that came back in approved returns.
    returned: Mapped[int] = mapped_column(Integer, default=0)


class LowStockThreshold(Base):
    """A SKU's own low-stock line; other SKUs use STOREFRONT_LOW_STOCK_ALERT_BELOW."""

    __tablename__ = "low_stock_thresholds"

    sku: Mapped[str] = mapped_column(String(64), primary_key=True)
    #: Staff are alerted when the SKU's available units fall below this.
    threshold: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


class LowStockAlert(Base):
    """A SKU below its line that staff were alerted about; removed when it is back at or
    above it, so each crossing alerts once."""

    __tablename__ = "low_stock_alerts"

    sku: Mapped[str] = mapped_column(String(64), primary_key=True)
    available: Mapped[int] = mapped_column(Integer)
    alerted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
