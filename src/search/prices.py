"""Prices in the shopper's currency over an index that holds US cents.

The index stores every price once, as exact integer US cents. A shopper who searches in EUR
sees each price converted and rounded the way the rest of the shop converts it, and filters
and buckets on those shown amounts: "EUR 100-200" is turned into the exact range of cents
whose shown price falls in it, so a product never appears in a bucket its own label denies.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_FLOOR, Decimal

from commerce.currency.money import BASE_CURRENCY, minor_units, round_money
from commerce.currency.pricing import Pricing

#: Upper edges of the price buckets in US dollars; other currencies round these (see nice).
USD_BUCKET_EDGES = (25, 50, 100, 250, 500, 1000)
#: Round numbers a bucket edge may take, times a power of ten.
NICE_STEPS = (Decimal(1), Decimal(2), Decimal("2.5"), Decimal(5), Decimal(10))
#: The largest price the index can hold, in cents (the API caps prices at 10^9).
MAX_CENTS = 10**13


def to_cents(amount: Decimal) -> int:
    """US dollars as whole cents (prices are stored to the cent)."""
    return int(round_money(amount, BASE_CURRENCY) * 100)


@dataclass(frozen=True)
class PriceScale:
    """US cents shown in one currency at one day's rate."""

    currency: str = BASE_CURRENCY
    per_usd: Decimal = Decimal(1)
    rate_date: date | None = None

    @classmethod
    def of(cls, pricing: Pricing) -> PriceScale:
        if not pricing.converts:
            return cls()
        return cls(pricing.currency, pricing.rates.rate(pricing.currency), pricing.rate_date)

    def shown(self, cents: int) -> Decimal:
        """What a price of `cents` US cents shows as in this currency."""
        return round_money(Decimal(cents) / 100 * self.per_usd, self.currency)

    def cents_from(self, amount: Decimal) -> int:
        """The fewest cents shown as `amount` or more."""
        cents = max(0, min(MAX_CENTS, math.floor(amount / self.per_usd * 100)))
        while cents > 0 and self.shown(cents - 1) >= amount:
            cents -= 1
        while cents < MAX_CENTS and self.shown(cents) < amount:
            cents += 1
        return cents

    def cents_to(self, amount: Decimal) -> int:
        """The most cents shown as `amount` or less (-1 when none is)."""
        unit = Decimal(1).scaleb(-minor_units(self.currency))
        on_grid = amount.quantize(unit, rounding=ROUND_FLOOR)
        return self.cents_from(on_grid + unit) - 1

    def bucket_edges(self) -> list[Decimal]:
        """Round upper edges in this currency, rising (the last bucket is open-ended)."""
        edges: list[Decimal] = []
        for usd in USD_BUCKET_EDGES:
            edge = nice(Decimal(usd) * self.per_usd)
            if not edges or edge > edges[-1]:
                edges.append(edge)
        return edges


def nice(amount: Decimal) -> Decimal:
    """The round number (1, 2, 2.5 or 5 times a power of ten) nearest `amount` by ratio."""
    exponent = Decimal(10) ** math.floor(math.log10(amount))
    candidates = [step * exponent for step in NICE_STEPS]
    best = min(candidates, key=lambda edge: abs(math.log(edge / amount)))
    return best.quantize(Decimal(1)) if best == best.to_integral_value() else best
