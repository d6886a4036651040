"""Orders at the edge: what checkout takes, what an order looks like, returns and filters."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from commerce.catalog.schemas import Price
from commerce.currency.money import Currency
from commerce.inputs import NotBoolean, Timestamp
from commerce.orders.states import Status

Line = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=200, pattern=r"^[^\x00]*\S[^\x00]*$"
    ),
]
Country = Annotated[str, StringConstraints(to_upper=True, pattern=r"^[A-Za-z]{2}$")]
#: A provider's single-use token (tok_…); card numbers never reach this service.
PaymentToken = Annotated[str, StringConstraints(pattern=r"^tok_[A-Za-z0-9_]{1,60}$")]


class Address(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Line
    line1: Line
    line2: Line | None = None
    city: Line
    postal_code: Annotated[
        str,
        StringConstraints(
            strip_whitespace=True, min_length=1, max_length=20, pattern=r"^[^\x00]*\S[^\x00]*$"
        ),
    ]
    region: Line | None = None
    #: ISO 3166-1 alpha-2.
    country: Country
    phone: Annotated[str, StringConstraints(pattern=r"^\+?[0-9 ()-]{5,30}$")] | None = None


class OrderIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    shipping_address: Address
    #: The shipping address when left out.
    billing_address: Address | None = None
    #: The order's currency; else `currency=` or Accept-Currency, else USD.
    currency: Currency | None = None
    #: Charge now with this provider token; else pay later with POST /api/orders/{id}/pay.
    payment_method: PaymentToken | None = None
    #: Item id -> the current price (USD) a 409 "Prices changed" named, to accept it.
    acknowledged_prices: Annotated[dict[uuid.UUID, Price], Field(max_length=100)] = {}


class PayIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    payment_method: PaymentToken


class OrderLineOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    product_id: uuid.UUID
    variant_id: uuid.UUID
    sku: str
    name: str
    options: dict[str, str]
    quantity: int
    unit_price: Decimal
    discount: Decimal
    total: Decimal
    returned_quantity: int


class PaymentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    status: str
    amount: Decimal
    currency: str
    refunded: Decimal
    failure: str | None
    created_at: datetime


class ReturnOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    order_id: uuid.UUID
    status: str
    lines: dict[str, int]
    refund: Decimal
    reason: str
    note: str | None
    created_at: datetime
    decided_at: datetime | None


class OrderOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    customer_id: uuid.UUID
    status: Status
    currency: str
    #: Units of `currency` per US dollar the lines were priced at, and the rate's day.
    rate: Decimal
    rate_date: date
    subtotal: Decimal
    discount: Decimal
    total: Decimal
    coupon_code: str | None
    shipping_address: dict[str, object]
    billing_address: dict[str, object]
    lines: list[OrderLineOut]
    payments: list[PaymentOut] = []
    returns: list[ReturnOut] = []
    expires_at: datetime
    created_at: datetime
    updated_at: datetime


class OrderSummary(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    customer_id: uuid.UUID
    status: Status
    currency: str
    total: Decimal
    created_at: datetime


class StatusChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: Literal["PROCESSING", "SHIPPED", "DELIVERED"]


class CancelIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)] | None = None


class ReturnLineIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    line_id: uuid.UUID
    quantity: Annotated[int, Field(ge=1, le=1000), NotBoolean]


class ReturnIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    lines: Annotated[list[ReturnLineIn], Field(min_length=1, max_length=100)]
    reason: Annotated[
        str,
        StringConstraints(
            strip_whitespace=True, min_length=1, max_length=1000, pattern=r"^[^\x00]*\S[^\x00]*$"
        ),
    ]


class ReturnDecision(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: Literal["APPROVED", "REJECTED"]
    note: Annotated[str, StringConstraints(strip_whitespace=True, max_length=1000)] | None = None


class OrderFilters(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: Status | None = None
    customer_id: uuid.UUID | None = None
    created_from: Timestamp | None = None
    created_to: Timestamp | None = None
