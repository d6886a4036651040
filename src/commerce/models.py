"""Every table of the domain, imported in one place for Alembic and the test fixtures."""

from commerce.catalog.models import Brand, Category, Product
from commerce.db import Base
from commerce.identity.models import RefreshToken, Role, User
from commerce.inventory.models import StockLevel, StockMovement, Warehouse
from commerce.outbox import DeadLetter, OutboxRow, ProcessedEvent, ProjectionCheckpoint
from commerce.promotions.models import Coupon, CouponRedemption

__all__ = [
    "Base",
    "Brand",
    "Category",
    "Coupon",
    "CouponRedemption",
    "DeadLetter",
    "OutboxRow",
    "ProcessedEvent",
    "Product",
    "ProjectionCheckpoint",
    "RefreshToken",
    "Role",
    "StockLevel",
    "StockMovement",
    "User",
    "Warehouse",
]
