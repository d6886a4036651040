"""Achievements, defined as data: what each measures and the goal that unlocks it."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from commerce.rewards.standing import Measure


@dataclass(frozen=True)
class Achievement:
    code: str
    title: str
    description: str
    measure: Measure
    goal: Decimal


ACHIEVEMENTS = (
    Achievement("first_order", "First order", "Your first paid order.", Measure.ORDERS, Decimal(1)),
    Achievement("five_orders", "Regular", "Five paid orders.", Measure.ORDERS, Decimal(5)),
    # In US dollars, so shoppers in every currency reach it for the same spend.
    Achievement(
        "big_spender",
        "Big spender",
        "US$500 spent across your orders.",
        Measure.SPEND_USD,
        Decimal(500),
    ),
)
