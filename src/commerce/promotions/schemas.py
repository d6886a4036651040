"""Pydantic models at the promotions' edge: coupons as staff write them, and the basket a
code is checked against."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from commerce.catalog.schemas import Price, Slug
from commerce.currency.money import Currency
from commerce.inputs import Timestamp

Code = Annotated[
    str, StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{2,31}$")
]
Percent = Annotated[Decimal, Field(gt=0, le=100, max_digits=5, decimal_places=2)]
Limit = Annotated[int, Field(ge=1, le=1_000_000_000)]
Slugs = Annotated[list[Slug], Field(max_length=50)]
Kind = Literal["percentage", "fixed"]


class _Terms(BaseModel):
    """What a coupon gives and when: shared by creating and changing one."""

    model_config = ConfigDict(extra="forbid")

    currency: Currency | None = None
    min_subtotal: Price | None = None
    valid_from: Timestamp | None = None
    valid_to: Timestamp | None = None
    usage_limit: Limit | None = None
    per_customer_limit: Limit | None = None
    categories: Slugs = []
    brands: Slugs = []


class CouponIn(_Terms):
    code: Code
    kind: Kind
    #: Percent off (up to 100) for "percentage"; an amount in `currency` for "fixed".
    value: Price

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        check_terms(self.kind, self.value, self.model_dump())
        return self


class CouponPatch(_Terms):
    """Changes to a coupon; its code and kind stay (archive it and create another)."""

    value: Price | None = None


def check_terms(kind: str, value: Decimal, terms: dict[str, object]) -> None:
    """The rules between fields, for a new coupon and for one after a change."""
    if kind == "percentage" and value > 100:
        raise ValueError("a percentage coupon takes off at most 100 (percent)")
    if (kind == "fixed" or terms.get("min_subtotal") is not None) and not terms.get("currency"):
        raise ValueError("a fixed amount or a minimum subtotal needs its currency")
    valid_from, valid_to = terms.get("valid_from"), terms.get("valid_to")
    if (
        isinstance(valid_from, datetime)
        and isinstance(valid_to, datetime)
        and valid_to <= valid_from
    ):
        raise ValueError("valid_to must be after valid_from")


class CouponOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    code: str
    kind: Kind
    value: Decimal
    currency: str | None
    min_subtotal: Decimal | None
    valid_from: datetime | None
    valid_to: datetime | None
    usage_limit: int | None
    per_customer_limit: int | None
    times_used: int
    categories: list[str]
    brands: list[str]
    created_at: datetime
    updated_at: datetime


class BasketLine(BaseModel):
    """A cart line as a coupon sees it: what it is (for restrictions) and what it costs."""

    product_id: uuid.UUID
    category_path: str
    brand: str
    amount: Decimal


class Basket(BaseModel):
    currency: str
    lines: list[BasketLine]
    customer_id: uuid.UUID | None = None

    @property
    def subtotal(self) -> Decimal:
        return sum((line.amount for line in self.lines), Decimal(0))


class Discount(BaseModel):
    """What a code takes off a basket, for the totals' discount line."""

    coupon_id: uuid.UUID
    code: str
    amount: Decimal
    currency: str
    #: The lines the discount applies to (all of them unless the code is restricted).
    eligible_subtotal: Decimal
    #: Each basket line's share of `amount`, in the basket's order (0 for lines it skips),
    #: so a refund of a line gives back what was paid for it.
    line_shares: list[Decimal] = []
