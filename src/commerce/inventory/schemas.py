"""Pydantic models at the inventory's edge."""

from __future__ import annotations

import uuid
from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

Quantity = Annotated[int, Field(ge=0, le=10_000_000)]


class StockChange(BaseModel):
    """Either set the on-hand quantity (`quantity`) or adjust it (`delta`), with a reason."""

    model_config = ConfigDict(extra="forbid")

    warehouse: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=32)]
    quantity: Quantity | None = None
    delta: Annotated[int, Field(ge=-10_000_000, le=10_000_000)] | None = None
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]

    @model_validator(mode="after")
    def _exactly_one(self) -> Self:
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
    sku: str
    available: int
    warehouses: list[WarehouseStock]


class WarehouseOut(BaseModel):
    code: str
    name: str
