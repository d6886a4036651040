"""Every table of the domain, imported in one place for Alembic and the test fixtures."""

from commerce.catalog.models import Brand, Category, Product, Variant
from commerce.currency.models import ExchangeRate
from commerce.db import Base
from commerce.identity.models import PasswordReset, RefreshToken, Role, User
from commerce.inventory.models import (
    LowStockAlert,
    LowStockThreshold,
    Reservation,
    StockLevel,
    StockMovement,
    Warehouse,
)
from commerce.merchandising.models import SearchRule, SearchSynonym
from commerce.notifications.models import EmailDelivery, Notification, NotificationPreference
from commerce.orders.models import Order, OrderLine, OrderReturn
from commerce.outbox import DeadLetter, OutboxRow, ProcessedEvent, ProjectionCheckpoint
from commerce.payments.models import Payment, PaymentAudit
from commerce.promotions.models import Coupon, CouponRedemption
from commerce.rewards.models import AchievementUnlock, Quest, QuestEnrolment

__all__ = [
    "AchievementUnlock",
    "Base",
    "Brand",
    "Category",
    "Coupon",
    "CouponRedemption",
    "DeadLetter",
    "EmailDelivery",
    "ExchangeRate",
    "LowStockAlert",
    "LowStockThreshold",
    "Notification",
    "NotificationPreference",
    "Order",
    "OrderLine",
    "OrderReturn",
    "OutboxRow",
    "PasswordReset",
    "Payment",
    "PaymentAudit",
    "ProcessedEvent",
    "Product",
    "ProjectionCheckpoint",
    "Quest",
    "QuestEnrolment",
    "RefreshToken",
    "Reservation",
    "Role",
    "SearchRule",
    "SearchSynonym",
    "StockLevel",
    "StockMovement",
    "User",
    "Variant",
    "Warehouse",
]
