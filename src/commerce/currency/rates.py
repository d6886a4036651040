"""Reference rates: how many units of each currency one US dollar buys, on a given day.

The feed is the European Central Bank's daily XML (rates per euro); it is turned into rates
per dollar once, here, so every price is converted from the base currency the same way.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal, localcontext
from importlib import resources

from defusedxml import ElementTree
from pydantic import BaseModel

from commerce.currency.money import BASE_CURRENCY, SUPPORTED, round_money

ECB_NAMESPACE = "{http://www.ecb.int/vocabulary/2002-08-01/eurofxref}"
#: Digits kept of a rate per dollar: far below any minor unit after conversion.
RATE_PLACES = Decimal("1e-10")


class RateFeedError(ValueError):
    """The feed's document is not a rates table we can use."""


class RateTable(BaseModel):
    """Units of each supported currency per US dollar, as published for `date`."""

    date: date
    per_usd: dict[str, Decimal]
    source: str

    def rate(self, currency: str) -> Decimal:
        return self.per_usd[currency]

    def convert(self, amount: Decimal, currency: str) -> Decimal:
        """A base-currency amount in `currency`, rounded to its minor unit."""
        if currency == BASE_CURRENCY:
            return round_money(amount, currency)
        return round_money(amount * self.rate(currency), currency)


def from_ecb_xml(document: bytes, source: str = "ECB") -> RateTable:
    """The ECB's eurofxref document as rates per dollar for the supported currencies."""
    try:
        root = ElementTree.fromstring(document)
    except ElementTree.ParseError as error:
        raise RateFeedError(f"not XML: {error}") from error
    day = root.find(f".//{ECB_NAMESPACE}Cube[@time]")
    if day is None:
        raise RateFeedError("no dated Cube element")
    per_eur = {
        cube.get("currency", ""): Decimal(cube.get("rate", "0"))
        for cube in day.findall(f"{ECB_NAMESPACE}Cube")
    }
    per_eur["EUR"] = Decimal(1)
    missing = sorted(set(SUPPORTED) - per_eur.keys())
    if missing:
        raise RateFeedError(f"no rate for {', '.join(missing)}")
    # A zero or negative rate would make prices in that currency free or absurd.
    if unusable := sorted(code for code in SUPPORTED if not per_eur[code] > 0):
        raise RateFeedError(f"a rate of zero or less for {', '.join(unusable)}")
    with localcontext() as context:
        context.prec = 28
        per_usd = {
            code: (per_eur[code] / per_eur[BASE_CURRENCY]).quantize(RATE_PLACES)
            for code in SUPPORTED
        }
    try:
        published = date.fromisoformat(day.get("time", ""))
    except ValueError as error:
        raise RateFeedError(f"bad date {day.get('time')!r}") from error
    return RateTable(date=published, per_usd=per_usd, source=source)


def shipped_snapshot() -> RateTable:
    """The rates shipped with the code: the offline default until `storefront rates refresh`."""
    document = resources.files(__package__).joinpath("ecb-snapshot.xml").read_bytes()
    return from_ecb_xml(document, source="snapshot")


def wild_moves(previous: RateTable, new: RateTable, factor: float) -> dict[str, str]:
    """The currencies whose rate moved by more than `factor` (either way) since `previous`,
    each with its move (`EUR 0.95 -> 9.5`): a feed's error, not a market's day."""
    limit = Decimal(str(factor))
    moved = {}
    for code, rate in new.per_usd.items():
        before = previous.per_usd.get(code)
        if before and (rate / before > limit or before / rate > limit):
            moved[code] = f"{code} {before.normalize()} -> {rate.normalize()}"
    return moved
