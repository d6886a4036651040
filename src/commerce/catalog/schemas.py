"""Pydantic models at the catalog's edge."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    WithJsonSchema,
    field_validator,
)

from commerce.inputs import NotBoolean

Sku = Annotated[
    str, StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
]
#: Not blank: the pattern tells generated clients what stripping whitespace enforces.
Name = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=200, pattern=r"^[^\x00]*\S[^\x00]*$"
    ),
]
Slug = Annotated[
    str, StringConstraints(strip_whitespace=True, pattern=r"^[a-z0-9][a-z0-9-]{0,79}$")
]
#: A positive amount with at most two decimals. JSON numbers are accepted too, but the schema
#: documents a decimal string (or a whole number), which no float rounding can change.
Price = Annotated[
    Decimal,
    Field(gt=0, le=Decimal("1000000000"), max_digits=14, decimal_places=2),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "integer", "minimum": 1, "maximum": 1_000_000_000},
                {"type": "string", "pattern": r"^(?=.*[1-9])\d{1,9}(\.\d{1,2})?$"},
            ],
            "examples": ["49.90"],
        }
    ),
]
Rating = Annotated[float, Field(ge=0, le=5), NotBoolean]
Description = Annotated[str, StringConstraints(max_length=10_000, pattern=r"^[^\x00]*$")]
Attributes = Annotated[
    dict[str, Annotated[str, StringConstraints(max_length=200)]], Field(max_length=50)
]


#: Option names and values: no separators the search index and the option key use.
OptionText = r"^[^\x00=;|]*[^\x00=;|\s][^\x00=;|]*$"
OptionName = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=32, pattern=OptionText)
]
OptionValue = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64, pattern=OptionText)
]
#: At most three options per product (size, colour, material …), as most shops allow.
MAX_OPTIONS = 3
MAX_VARIANTS = 250
OptionValues = Annotated[dict[OptionName, OptionValue], Field(max_length=MAX_OPTIONS)]


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @field_validator("attributes", check_fields=False)
    @classmethod
    def _attribute_names(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        if value and any(not key or len(key) > 64 for key in value):
            raise ValueError("attribute names are 1 to 64 characters")
        return value


class VariantIn(_Input):
    """A variant: its own SKU, a value for each of the product's options, maybe its own price."""

    sku: Sku
    options: OptionValues = Field(default_factory=dict)
    price: Price | None = None


class VariantPatch(_Input):
    """Fields to change; `"price": null` removes the override (the product's price applies)."""

    sku: Sku | None = None
    options: OptionValues | None = None
    price: Price | None = None


class ProductIn(_Input):
    """A product. With `options` (e.g. ["size"]) it needs `variants`, each with its own SKU
    and a value for every option; without, it has one variant with the product's SKU."""

    sku: Sku
    name: Name
    description: Description = ""
    brand: Name
    category: Slug
    price: Price
    rating: Rating = 0.0
    attributes: Attributes = Field(default_factory=dict)
    options: Annotated[list[OptionName], Field(max_length=MAX_OPTIONS)] = Field(
        default_factory=list
    )
    variants: Annotated[list[VariantIn], Field(max_length=MAX_VARIANTS)] = Field(
        default_factory=list
    )

    @field_validator("options")
    @classmethod
    def _distinct_options(cls, value: list[str]) -> list[str]:
        if len({name.casefold() for name in value}) != len(value):
            raise ValueError("option names must be distinct")
        return value


class ProductPatch(_Input):
    name: Name | None = None
    description: Description | None = None
    brand: Name | None = None
    category: Slug | None = None
    price: Price | None = None
    rating: Rating | None = None
    attributes: Attributes | None = None


class VariantOut(BaseModel):
    id: uuid.UUID
    sku: str
    options: dict[str, str]
    #: What it sells for: its own price, or the product's.
    price: Decimal
    #: Its own price, if it has one.
    price_override: Decimal | None
    available: int
    in_stock: bool


class ProductOut(BaseModel):
    id: uuid.UUID
    sku: str
    name: str
    description: str
    brand: str
    category: str
    category_path: str
    price: Decimal
    currency: str
    #: The day of the reference rate, when prices were converted (`currency=`).
    rate_date: date | None = None
    rating: float
    attributes: dict[str, str]
    #: Available units over every variant; in stock if any variant is.
    available: int
    in_stock: bool
    created_at: datetime
    updated_at: datetime
    version: int
    options: list[str]
    variants: list[VariantOut]


class BrandOut(BaseModel):
    slug: str
    name: str


class CategoryOut(BaseModel):
    slug: str
    name: str
    path: str
    parent: str | None
