"""The realtime dashboard with the real worker: paid orders, carts, sessions and low stock
as they happen."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx
import pytest

from bootstrap.settings import Settings
from tests.api.test_cart import add, tee
from tests.api.test_orders import bought, settled
from tests.conftest import eventually
from tests.factories import set_stock

pytestmark = pytest.mark.usefixtures("reference", "worker")


async def now(client: httpx.AsyncClient, admin: dict[str, str]) -> dict[str, Any]:
    response = await client.get("/api/admin/dashboard/realtime", headers=admin)
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


async def test_a_paid_order_reaches_the_last_hour_today_and_the_feed_once(
    client: httpx.AsyncClient, admin: dict[str, str], shopper: dict[str, str]
) -> None:
    product = await tee(client, admin, stock=5)
    before = await now(client, admin)

    order = await bought(client, shopper, product, 2, payment_method="tok_visa")
    await settled(client, shopper, order["id"], "CONFIRMED")

    after = await eventually(
        lambda: now(client, admin),
        lambda r: order["id"] in [e["order_id"] for e in r["latest_orders"]],
    )
    # Other tests' orders may be paid meanwhile: every order counted since is in the feed.
    seen = {e["order_id"] for e in before["latest_orders"]}
    new = [e for e in after["latest_orders"] if e["order_id"] not in seen]
    assert [e["order_id"] for e in new].count(order["id"]) == 1
    ours = next(e for e in new if e["order_id"] == order["id"])
    assert (ours["units"], Decimal(ours["total"])) == (2, Decimal(order["total"]))
    assert Decimal(ours["total_usd"]) > 0
    for window in ("last_hour", "today"):
        assert after[window]["orders"] == before[window]["orders"] + len(new)
        gained = Decimal(after[window]["revenue_usd"]) - Decimal(before[window]["revenue_usd"])
        assert gained == sum(Decimal(e["total_usd"]) for e in new)


async def test_carts_sessions_and_low_stock_are_counted_as_they_change(
    client: httpx.AsyncClient, admin: dict[str, str], shopper: dict[str, str]
) -> None:
    product = await tee(client, admin, stock=50)
    before = await now(client, admin)

    response = await add(client, shopper, product, variant_id=product["variants"][0]["id"])
    assert response.status_code == 200, response.text
    await set_stock(client, admin, product["variants"][1]["sku"], 3)
    after = await now(client, admin)

    assert after["active_carts"] == before["active_carts"] + 1
    assert after["low_stock"]["count"] == before["low_stock"]["count"] + 1

    response = await client.post("/api/auth/logout", headers=shopper)
    assert response.status_code == 204, response.text
    assert (await now(client, admin))["signed_in_users"] == after["signed_in_users"] - 1


async def test_low_stock_lists_the_fewest_available_first(
    client: httpx.AsyncClient, admin: dict[str, str], settings: Settings
) -> None:
    product = await tee(client, admin, stock=50)
    await set_stock(client, admin, product["variants"][0]["sku"], 1)

    low = (await now(client, admin))["low_stock"]

    ranked = [(item["available"], item["sku"]) for item in low["lowest"]]
    assert ranked == sorted(ranked)
    assert len(ranked) == min(low["count"], 20) > 0
    assert all(available <= settings.low_stock_threshold for available, _ in ranked)
    assert low["threshold"] == settings.low_stock_threshold
