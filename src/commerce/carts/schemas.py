"""The cart as stored (one JSON document in Redis) and as shown."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from commerce.inputs import NotBoolean

#: Seed 003: at most 10 units of one product in a cart.
MAX_UNITS_PER_PRODUCT = 10
MAX_LINES = 100
Quantity = Annotated[int, Field(ge=1, le=MAX_UNITS_PER_PRODUCT), NotBoolean]


class CartItemIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    product_id: uuid.UUID
    #: Required when the product has more than one variant.
    variant_id: uuid.UUID | None = None
    quantity: Quantity = 1


class CartItemPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    quantity: Quantity


class CouponCodeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    #: As the shopper typed it: a code that matches none is the "unknown" rule, not a 422
    #: about its shape.
    code: Annotated[
        str,
        StringConstraints(
            strip_whitespace=True, min_length=1, max_length=64, pattern=r"^[^\x00]*\S[^\x00]*$"
        ),
    ]


class StoredItem(BaseModel):
    variant_id: uuid.UUID
    product_id: uuid.UUID
    quantity: int
    #: The unit price when the shopper added it: what they agreed to pay.
    unit_price: Decimal
    added_at: datetime


class StoredCart(BaseModel):
    items: list[StoredItem] = []
    coupon: str | None = None


class CartLineOut(BaseModel):
    #: The line's id: its variant's (one line per variant).
    id: uuid.UUID
    product_id: uuid.UUID
    variant_id: uuid.UUID
    sku: str
    name: str
    options: dict[str, str]
    quantity: int
    unit_price: Decimal
    #: The price now; differs from unit_price when it changed after the item was added.
    current_price: Decimal | None
    price_changed: bool
    line_total: Decimal
    available: int
    #: False when the product or variant is no longer sold: the line is left out of totals.
    purchasable: bool


class CartCouponOut(BaseModel):
    code: str
    applies: bool
    #: Why it does not apply now (the rule it fails), when it does not.
    rule: str | None = None
    detail: str | None = None


class CartOut(BaseModel):
    items: list[CartLineOut]
    currency: str
    #: The day of the reference rate the prices were converted at (USD: the rate is 1).
    rate_date: date
    subtotal: Decimal
    discount: Decimal
    total: Decimal
    coupon: CartCouponOut | None
    item_count: int
