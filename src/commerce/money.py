"""Money: the currencies the shop prices in and how many minor units each has."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Literal

Currency = Literal["USD", "EUR", "GBP", "CAD", "AUD", "JPY", "CNY", "INR"]
BASE_CURRENCY: Currency = "USD"
#: ISO 4217 minor units; those not listed have two.
_MINOR_UNITS: dict[str, int] = {"JPY": 0}


def minor_units(currency: str) -> int:
    return _MINOR_UNITS.get(currency, 2)


def round_money(amount: Decimal, currency: str) -> Decimal:
    """`amount` to the currency's smallest unit, halves away from zero (as tills round)."""
    return amount.quantize(Decimal(1).scaleb(-minor_units(currency)), rounding=ROUND_HALF_UP)
