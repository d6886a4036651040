"""Pydantic models at the catalog's edge."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Generic, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    WithJsonSchema,
    field_validator,
)

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
Rating = Annotated[float, Field(ge=0, le=5)]
Description = Annotated[str, StringConstraints(max_length=10_000, pattern=r"^[^\x00]*$")]
Attributes = Annotated[
    dict[str, Annotated[str, StringConstraints(max_length=200)]], Field(max_length=50)
]


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @field_validator("attributes", check_fields=False)
    @classmethod
    def _attribute_names(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        if value and any(not key or len(key) > 64 for key in value):
            raise ValueError("attribute names are 1 to 64 characters")
        return value


class ProductIn(_Input):
    sku: Sku
    name: Name
    description: Description = ""
    brand: Name
    category: Slug
    price: Price
    rating: Rating = 0.0
    attributes: Attributes = Field(default_factory=dict)


class ProductPatch(_Input):
    name: Name | None = None
    description: Description | None = None
    brand: Name | None = None
    category: Slug | None = None
    price: Price | None = None
    rating: Rating | None = None
    attributes: Attributes | None = None


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
    rating: float
    attributes: dict[str, str]
    available: int
    in_stock: bool
    created_at: datetime
    updated_at: datetime
    version: int


class BrandOut(BaseModel):
    slug: str
    name: str


class CategoryOut(BaseModel):
    slug: str
    name: str
    path: str
    parent: str | None


T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    page: int
    size: int
