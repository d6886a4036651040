"""The event envelope and every event this domain emits (named in the past tense)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

USERS_TOPIC = "users"
CATALOG_TOPIC = "catalog"
INVENTORY_TOPIC = "inventory"
#: Every topic the outbox relay publishes to, in the order DESIGN.md lists them.
TOPICS = (
    USERS_TOPIC,
    CATALOG_TOPIC,
    INVENTORY_TOPIC,
    "orders",
    "payments",
    "carts",
    "search-queries",
    "activity",
    "engagement",
    # no events yet: emails the mailer gave up on are dead-lettered to its .dlq
    "notifications",
)

#: Where events that could not be decoded at all are dead-lettered.
UNKNOWN_TOPIC = "unknown"


def dead_letter_topic(topic: str) -> str:
    return f"{topic}.dlq"


#: Dead letters travel like events (through the outbox), one `<topic>.dlq` per topic.
DEAD_LETTER_TOPICS = tuple(dead_letter_topic(t) for t in (*TOPICS, UNKNOWN_TOPIC))

#: Every topic the relay creates (with explicit partitions) and publishes to.
PUBLISHED_TOPICS = (*TOPICS, *DEAD_LETTER_TOPICS)

#: Which topic an event type travels on, by the type's prefix.
TOPIC_BY_PREFIX = {
    "user": USERS_TOPIC,
    "role": USERS_TOPIC,
    "product": CATALOG_TOPIC,
    "price": CATALOG_TOPIC,
    "stock": INVENTORY_TOPIC,
    "order": "orders",
    "payment": "payments",
    "cart": "carts",
    "search": "search-queries",
    "activity": "activity",
    "achievement": "engagement",
    "quest": "engagement",
    "notification": "notifications",
}


def topic_for(event_type: str) -> str:
    """The topic of an event type, e.g. `stock.adjusted` -> `inventory`."""
    return TOPIC_BY_PREFIX[event_type.split(".", 1)[0]]


def topic_or_unknown(event_type: str) -> str:
    """The topic of an event type, or `unknown` for a type no topic carries."""
    return TOPIC_BY_PREFIX.get(event_type.split(".", 1)[0], UNKNOWN_TOPIC)


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


class VariantSnapshot(BaseModel):
    """One variant of a product: its SKU, option values and price override (None: the
    product's price)."""

    id: uuid.UUID
    sku: str
    options: dict[str, str] = Field(default_factory=dict)
    price: Decimal | None = None

    def price_or(self, product_price: Decimal) -> Decimal:
        return self.price if self.price is not None else product_price


class ProductSnapshot(BaseModel):
    """A product as it stands after the change (payload of product.* events), variants too."""

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
    options: list[str] = Field(default_factory=list)
    variants: list[VariantSnapshot] = Field(default_factory=list)


class StockAdjusted(BaseModel):
    """One warehouse's on-hand quantity of a variant changed; `available` is the variant
    SKU's total after it."""

    movement_id: int
    product_id: uuid.UUID
    #: None only in events written before products had variants.
    variant_id: uuid.UUID | None = None
    sku: str
    warehouse: str
    delta: int
    on_hand: int
    available: int
    reason: str
    #: The change to reserved units (checkout, release, sale); 0 for a count or delivery.
    reserved_delta: int = 0
    #: The order that reserved, sold, released or took back these units.
    order_id: uuid.UUID | None = None


class StockLineChanged(BaseModel):
    """A SKU's low-stock line was set, or reset to the shop's default (`threshold` None)."""

    product_id: uuid.UUID
    variant_id: uuid.UUID
    sku: str
    threshold: int | None


class UserRegistered(BaseModel):
    user_id: uuid.UUID
    email: str
    first_name: str
    last_name: str
    role: str


class RoleChanged(BaseModel):
    """Payload of role.created / role.updated / role.deleted."""

    name: str
    permissions: list[str]
    version: int


class OrderLineSnapshot(BaseModel):
    line_id: uuid.UUID
    product_id: uuid.UUID
    variant_id: uuid.UUID
    sku: str
    #: The product's category when the order was placed (None in events written before).
    category: str | None = None
    quantity: int
    unit_price: Decimal
    #: The coupon's share of this line, for refunds of what was really paid.
    discount: Decimal
    total: Decimal


class OrderPlaced(BaseModel):
    """Payload of order.created: the order as checked out, in its currency."""

    order_id: uuid.UUID
    customer_id: uuid.UUID
    currency: str
    #: Units of `currency` per US dollar, as published on `rate_date`.
    rate: Decimal
    rate_date: date
    subtotal: Decimal
    discount: Decimal
    total: Decimal
    coupon_code: str | None
    lines: list[OrderLineSnapshot]
    #: A payment method came with the order: the payments step charges it.
    pays_now: bool
    expires_at: datetime


class OrderChanged(BaseModel):
    """Payload of order.confirmed / failed / expired / cancelled / status_changed."""

    order_id: uuid.UUID
    customer_id: uuid.UUID
    status: str
    previous: str
    reason: str | None = None
    currency: str
    total: Decimal
    #: What the payments step gives back (a paid order cancelled); 0 when nothing was paid.
    refund: Decimal = Decimal(0)


class OrderReturned(BaseModel):
    """Payload of order.returned: staff approved a return; its lines' paid amounts go back."""

    order_id: uuid.UUID
    customer_id: uuid.UUID
    return_id: uuid.UUID
    currency: str
    refund: Decimal
    lines: dict[str, int]


class PaymentRecorded(BaseModel):
    """Payload of payment.succeeded / failed / refunded."""

    payment_id: uuid.UUID
    order_id: uuid.UUID
    amount: Decimal
    currency: str
    status: str
    provider_reference: str | None = None
    #: Why it failed (declined, provider_unavailable) or what the refund is for.
    reason: str | None = None


class ActivityTracked(BaseModel):
    """Payload of activity.* events: what a shopper's client did, for funnels and search
    analytics (product_viewed, search_result_clicked, cart_viewed, checkout_started)."""

    session_id: str
    #: The signed-in shopper, if a valid token came with the batch.
    customer_id: uuid.UUID | None = None
    product_id: uuid.UUID | None = None
    query: str | None = None
    #: Where the clicked result was in the list (1 is first).
    position: int | None = None


class SearchPerformed(BaseModel):
    """One search answered, for zero-result and top queries: an entry of search.answered
    (older outboxes hold it alone as search.performed)."""

    #: This search's own id and when it was answered (unset in search.performed events,
    #: whose envelope gives both).
    search_id: uuid.UUID | None = None
    answered_at: datetime | None = None
    session_id: str | None = None
    query: str
    #: The filters as given (brands, category, prices, stock, options); empty when none.
    filters: dict[str, Any]
    sort: str
    page: int
    results: int
    latency_ms: float


class SearchesAnswered(BaseModel):
    """Payload of search.answered: the searches one API process answered since its last
    flush, in the order it answered them (one event a flush, not an outbox row a search)."""

    searches: list[SearchPerformed]


class AchievementUnlocked(BaseModel):
    """Payload of achievement.unlocked: a customer reached an achievement's goal (once)."""

    customer_id: uuid.UUID
    code: str
    title: str
    description: str


class QuestCompleted(BaseModel):
    """Payload of quest.completed: the goal is met and a reward code was granted."""

    customer_id: uuid.UUID
    quest_id: uuid.UUID
    title: str
    reward_code: str
    reward_percent: Decimal
    reward_expires_at: datetime


class QuestReopened(BaseModel):
    """Payload of quest.reopened: a cancelled or refunded order took a completed quest's
    progress back below its goal; its unused reward code was withdrawn."""

    customer_id: uuid.UUID
    quest_id: uuid.UUID
    title: str
