"""Every table of the domain, imported in one place for Alembic and the test fixtures."""

from commerce.catalog.models import Brand, Category, Product
from commerce.currency.models import ExchangeRate
from commerce.db import Base
from commerce.identity.models import RefreshToken, Role, User
from commerce.inventory.models import (
    LowStockAlert,
    LowStockThreshold,
    Reservation,
    StockLevel,
    StockMovement,
    Warehouse,
)
from commerce.merchandising.models import SearchRule, SearchSynonym
from commerce.orders.models import Order, OrderLine, OrderReturn
from commerce.outbox import DeadLetter, OutboxRow, ProcessedEvent, ProjectionCheckpoint
from commerce.payments.models import Payment, PaymentAudit
from commerce.promotions.models import Coupon, CouponRedemption

__all__ = [
    "Base",
    "Brand",
    "Category",
    "Coupon",
    "CouponRedemption",
    "DeadLetter",
    "ExchangeRate",
    "LowStockAlert",
    "LowStockThreshold",
    "Order",
    "OrderLine",
    "OrderReturn",
    "OutboxRow",
    "Payment",
    "PaymentAudit",
    "ProcessedEvent",
    "Product",
    "ProjectionCheckpoint",
    "RefreshToken",
    "Reservation",
    "Role",
    "SearchRule",
    "SearchSynonym",
    "StockLevel",
    "StockMovement",
    "User",
    "Warehouse",
]
