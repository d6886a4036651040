"""Money: the currencies the shop prices in and how many minor units each has."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Literal, get_args

Currency = Literal["USD", "EUR", "GBP", "CAD", "AUD", "JPY", "CNY", "INR"]
BASE_CURRENCY: Currency = "USD"
SUPPORTED: tuple[str, ...] = get_args(Currency)
#: ISO 4217 minor units; those not listed have two.
_MINOR_UNITS: dict[str, int] = {"JPY": 0}


def minor_units(currency: str) -> int:
    return _MINOR_UNITS.get(currency, 2)


def round_money(amount: Decimal, currency: str) -> Decimal:
    """`amount` to the currency's smallest unit, halves away from zero (as tills round).

    The one place money is rounded: conversions, discounts and totals all come through here.
    """
    return amount.quantize(Decimal(1).scaleb(-minor_units(currency)), rounding=ROUND_HALF_UP)


def to_minor(amount: Decimal, currency: str) -> int:
    """An amount in the currency's smallest unit (cents, yen), as payment providers take it."""
    return int(round_money(amount, currency).scaleb(minor_units(currency)))
