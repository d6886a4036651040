"""Prices shown in the shopper's currency: one rate table, one currency, one rounding."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from commerce.currency.money import BASE_CURRENCY
from commerce.currency.rates import RateTable, shipped_snapshot


@dataclass(frozen=True)
class Pricing:
    rates: RateTable
    currency: str = BASE_CURRENCY

    @classmethod
    def base(cls) -> Pricing:
        """US dollars, as stored (the rates are not consulted)."""
        return cls(shipped_snapshot())

    @property
    def converts(self) -> bool:
        return self.currency != BASE_CURRENCY

    @property
    def rate_date(self) -> date:
        return self.rates.date

    def convert(self, amount: Decimal) -> Decimal:
        """A US dollar amount in this currency, rounded to its minor unit."""
        return self.rates.convert(amount, self.currency)

    def product(self, product: dict[str, Any]) -> dict[str, Any]:
        """A product as the API shows it (JSON), its prices in this currency."""
        variants = [
            {
                **variant,
                "price": str(self.convert(Decimal(variant["price"]))),
                "price_override": (
                    None
                    if variant.get("price_override") is None
                    else str(self.convert(Decimal(variant["price_override"])))
                ),
            }
            for variant in product.get("variants", [])
        ]
        return {
            **product,
            "price": str(self.convert(Decimal(product["price"]))),
            "currency": self.currency,
            "rate_date": self.rate_date.isoformat(),
            "variants": variants,
        }
