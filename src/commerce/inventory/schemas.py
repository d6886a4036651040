"""Pydantic models at the inventory's edge."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Self

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from commerce.inputs import NotBoolean

Quantity = Annotated[int, Field(ge=0, le=10_000_000), NotBoolean]


def _exactly_one_of_quantity_or_delta(schema: dict[str, Any]) -> None:
    """Say in the schema what `_exactly_one` enforces, so generated clients know it."""
    properties = schema["properties"]
    properties["quantity"] = {"type": "integer", "minimum": 0, "maximum": 10_000_000}
    properties["delta"] = {
        "type": "integer",
        "minimum": -10_000_000,
        "maximum": 10_000_000,
        "not": {"const": 0},
    }
    schema["oneOf"] = [{"required": ["quantity"]}, {"required": ["delta"]}]


NotBlank = r"^[^\x00]*\S[^\x00]*$"


class StockChange(BaseModel):
    """Either set the on-hand quantity (`quantity`) or adjust it (`delta`), with a reason."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_exactly_one_of_quantity_or_delta)

    warehouse: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=32, pattern=NotBlank)
    ]
    quantity: Quantity | None = None
    delta: Annotated[int, Field(ge=-10_000_000, le=10_000_000)] | None = None
    reason: Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=1, max_length=200, pattern=NotBlank),
    ]

    @model_validator(mode="after")
    def _exactly_one(self) -> Self:
        if any(getattr(self, f) is None for f in self.model_fields_set & {"quantity", "delta"}):
            raise ValueError("leave out 'quantity' or 'delta' rather than sending null")
        if (self.quantity is None) == (self.delta is None):
            raise ValueError("give exactly one of 'quantity' (set) or 'delta' (adjust)")
        if self.delta == 0:
            raise ValueError("'delta' must not be 0")
        return self


class WarehouseStock(BaseModel):
    warehouse: str
    on_hand: int
    reserved: int
    available: int


class StockOut(BaseModel):
    product_id: uuid.UUID
    variant_id: uuid.UUID
    sku: str
    available: int
    warehouses: list[WarehouseStock]


class WarehouseOut(BaseModel):
    code: str
    name: str


class LowStockItem(BaseModel):
    product_id: uuid.UUID
    variant_id: uuid.UUID
    sku: str
    name: str
    available: int


class LowStock(BaseModel):
    """Live variants with at most `threshold` units available across all warehouses."""

    threshold: int
    count: int
    lowest: list[LowStockItem]


class ThresholdIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    #: Staff are alerted when the SKU's available units fall below this.
    threshold: Annotated[int, Field(ge=0, le=10_000_000), NotBoolean]


class ThresholdOut(BaseModel):
    sku: str
    threshold: int
    #: Whether the SKU has its own line (False: the shop's default applies).
    own: bool


class LowStockCrossing(BaseModel):
    """A SKU's available units fell below its line (pushed to staff once per crossing)."""

    sku: str
    product_id: uuid.UUID
    variant_id: uuid.UUID | None
    available: int
    threshold: int
