"""Prices in the shopper's currency: browse, product and cart responses convert at the
day's rate and name it; an unsupported currency is a 422 naming the supported ones."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import httpx
import pytest

from commerce.currency.rates import shipped_snapshot
from tests.api.test_cart import add, tee

pytestmark = pytest.mark.usefixtures("reference")


async def test_a_product_is_shown_in_the_currency_asked_for(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    product = await tee(client, admin)
    rates = shipped_snapshot()

    euros = await client.get(f"/api/products/{product['id']}", params={"currency": "EUR"})
    yen = await client.get(f"/api/products/{product['id']}", headers={"Accept-Currency": "jpy"})
    dollars = await client.get(f"/api/products/{product['id']}")

    assert euros.status_code == yen.status_code == dollars.status_code == 200
    assert euros.json()["currency"] == "EUR"
    assert Decimal(euros.json()["price"]) == rates.convert(Decimal("20.00"), "EUR")
    assert euros.json()["rate_date"] == rates.date.isoformat()
    assert [Decimal(v["price"]) for v in yen.json()["variants"]] == [
        rates.convert(Decimal("20.00"), "JPY"),
        rates.convert(Decimal("22.00"), "JPY"),
    ]
    assert "." not in yen.json()["price"]
    assert dollars.json()["currency"] == "USD" and dollars.json()["price"] == "20.00"
    listed = await client.get("/api/products", params={"currency": "GBP", "size": 5})
    assert {item["currency"] for item in listed.json()["items"]} == {"GBP"}


async def test_an_unsupported_currency_is_a_problem_naming_the_supported(
    client: httpx.AsyncClient, shopper: dict[str, str]
) -> None:
    for response in (
        await client.get("/api/products", params={"currency": "XBT"}),
        await client.get("/api/cart", headers={**shopper, "Accept-Currency": "DOGE"}),
    ):
        assert response.status_code == 422
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["supported"] == [
            "USD",
            "EUR",
            "GBP",
            "CAD",
            "AUD",
            "JPY",
            "CNY",
            "INR",
        ]


async def test_cart_totals_follow_the_currency(
    client: httpx.AsyncClient, admin: dict[str, str], shopper: dict[str, str]
) -> None:
    product = await tee(client, admin)
    await add(client, shopper, product, variant_id=product["variants"][1]["id"], quantity=3)
    rates = shipped_snapshot()

    cart = (await client.get("/api/cart", params={"currency": "INR"}, headers=shopper)).json()

    unit = rates.convert(Decimal("22.00"), "INR")
    assert (cart["currency"], cart["rate_date"]) == ("INR", rates.date.isoformat())
    assert Decimal(cart["items"][0]["unit_price"]) == unit
    assert Decimal(cart["total"]) == unit * 3


async def test_readiness_reports_the_rates_day_and_staleness(
    client: httpx.AsyncClient, accounts: dict[str, dict[str, str]]
) -> None:
    ready = await client.get("/api/health/ready", headers=accounts["STAFF"])
    rates = ready.json()["checks"]["rates"]
    age = (datetime.now(UTC).date() - shipped_snapshot().date).days
    assert rates["date"] == shipped_snapshot().date.isoformat() and rates["age_days"] == age
    assert rates["status"].startswith("stale") == (age > 3)
    assert ready.status_code == 200  # old rates still convert: reported, not "down"
