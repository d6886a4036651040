"""The event envelope and every event this domain emits (named in the past tense)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

CATALOG_TOPIC = "catalog"
INVENTORY_TOPIC = "inventory"
#: Every topic the outbox relay publishes to, in the order DESIGN.md lists them.
TOPICS = ("users", CATALOG_TOPIC, INVENTORY_TOPIC, "orders", "payments", "carts", "search-queries")

ProductEventType = Literal["product.created", "product.updated", "product.deleted"]
StockEventType = Literal["stock.adjusted"]


class Envelope(BaseModel):
    """What travels on Kafka: keyed by `aggregate_id`, so one aggregate's events stay ordered."""

    model_config = ConfigDict(frozen=True)

    event_id: uuid.UUID = Field(default_factory=uuid.uuid4)
    type: str
    occurred_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    aggregate_id: str
    aggregate_version: int
    payload: dict[str, Any]
    trace_id: str | None = None
    #: The outbox sequence number; set by the relay when it publishes.
    seq: int | None = None


class ProductSnapshot(BaseModel):
    """A product as it stands after the change (payload of product.* events)."""

    id: uuid.UUID
    sku: str
    name: str
    description: str
    brand: str
    category: str
    category_path: str
    price: Decimal
    currency: str = "USD"
    rating: float
    attributes: dict[str, str]
    created_at: datetime
    version: int
    deleted: bool = False


class StockAdjusted(BaseModel):
    """One warehouse's on-hand quantity changed; `available` is the SKU's total after it."""

    movement_id: int
    product_id: uuid.UUID
    sku: str
    warehouse: str
    delta: int
    on_hand: int
    available: int
    reason: str
