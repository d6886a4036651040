"""Checkout through the API with the real worker: idempotent orders, stock held and sold or
given back by the saga, payments through the provider's sandbox over HTTP, cancellation,
staff status changes, expiry and returns."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from analytics.warehouse import open_warehouse
from api.app import create_app
from bootstrap.settings import Settings
from commerce.db import transaction
from tests.api.conftest import register_shopper
from tests.api.test_cart import add, coupon, tee
from tests.checkout import ADDRESS, ledger_broken, stock_totals
from tests.conftest import eventually
from tests.factories import set_stock

pytestmark = pytest.mark.usefixtures("reference", "worker")


def key() -> dict[str, str]:
    return {"Idempotency-Key": str(uuid.uuid4())}


async def checkout(
    client: httpx.AsyncClient,
    shopper: dict[str, str],
    idempotency: dict[str, str] | None = None,
    **body: Any,
) -> httpx.Response:
    headers = {**shopper, **(idempotency if idempotency is not None else key())}
    return await client.post(
        "/api/orders", json={"shipping_address": ADDRESS, **body}, headers=headers
    )


async def order_of(client: httpx.AsyncClient, who: dict[str, str], order_id: str) -> dict[str, Any]:
    response = await client.get(f"/api/orders/{order_id}", headers=who)
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


async def settled(
    client: httpx.AsyncClient, who: dict[str, str], order_id: str, status: str
) -> dict[str, Any]:
    """The order once the saga has moved it to `status`."""
    return await eventually(
        lambda: order_of(client, who, order_id), lambda order: order["status"] == status
    )


async def bought(
    client: httpx.AsyncClient,
    shopper: dict[str, str],
    product: dict[str, Any],
    quantity: int = 2,
    **body: Any,
) -> dict[str, Any]:
    response = await add(
        client, shopper, product, variant_id=product["variants"][0]["id"], quantity=quantity
    )
    assert response.status_code == 200, response.text
    response = await checkout(client, shopper, **body)
    assert response.status_code == 201, response.text
    order: dict[str, Any] = response.json()
    return order


async def test_checkout_needs_a_key_holds_stock_and_a_retry_returns_the_same_order(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    shopper: dict[str, str],
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    product = await tee(client, admin, stock=5)
    variant = product["variants"][0]
    await add(client, shopper, product, variant_id=variant["id"], quantity=3)

    missing = await checkout(client, shopper, idempotency={})
    assert missing.status_code == 428
    assert missing.headers["content-type"] == "application/problem+json"

    same_key = key()
    first = await checkout(client, shopper, same_key)
    assert first.status_code == 201, first.text
    order = first.json()
    assert order["status"] == "PENDING" and order["currency"] == "USD"
    assert [(line["sku"], line["quantity"]) for line in order["lines"]] == [(variant["sku"], 3)]
    assert Decimal(order["total"]) == Decimal("60.00")
    assert await stock_totals(sessions, variant["id"]) == (5, 3)
    assert (await client.get("/api/cart", headers=shopper)).json()["items"] == []

    again = await checkout(client, shopper, same_key)
    assert again.status_code == 201 and again.json()["id"] == order["id"]
    other_body = await checkout(client, shopper, same_key, currency="EUR")
    assert other_body.status_code == 422
    assert await stock_totals(sessions, variant["id"]) == (5, 3)

    empty = await checkout(client, shopper)
    assert empty.status_code == 409 and "empty" in empty.json()["detail"]
    assert await ledger_broken(sessions, [variant["id"]]) == []


async def test_short_stock_is_a_409_naming_the_line_and_holds_nothing(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    shopper: dict[str, str],
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    product = await tee(client, admin, stock=4)
    variant = product["variants"][0]
    await add(client, shopper, product, variant_id=variant["id"], quantity=4)
    other = product["variants"][1]
    await add(client, shopper, product, variant_id=other["id"], quantity=2)
    await set_stock(client, admin, variant["sku"], 1)

    response = await checkout(client, shopper)

    assert response.status_code == 409, response.text
    problem = response.json()
    assert problem["lines"] == [
        {"item_id": variant["id"], "sku": variant["sku"], "wanted": 4, "available": 1}
    ]
    assert await stock_totals(sessions, variant["id"]) == (1, 0)
    assert await stock_totals(sessions, other["id"]) == (4, 0)
    assert len((await client.get("/api/cart", headers=shopper)).json()["items"]) == 2


async def test_a_changed_price_is_a_409_until_the_shopper_accepts_it(
    client: httpx.AsyncClient, admin: dict[str, str], shopper: dict[str, str]
) -> None:
    product = await tee(client, admin)
    variant = product["variants"][0]
    await add(client, shopper, product, variant_id=variant["id"], quantity=1)
    changed = await client.patch(
        f"/api/admin/products/{product['id']}", json={"price": "25.00"}, headers=admin
    )
    assert changed.status_code == 200, changed.text

    refused = await checkout(client, shopper)
    assert refused.status_code == 409
    assert refused.json()["lines"] == [
        {
            "item_id": variant["id"],
            "sku": variant["sku"],
            "unit_price": "20.00",
            "current_price": "25.00",
        }
    ]
    accepted = await checkout(client, shopper, acknowledged_prices={variant["id"]: "25.00"})
    assert accepted.status_code == 201, accepted.text
    assert accepted.json()["total"] == "25.00"


async def test_paid_at_checkout_the_saga_confirms_and_sells_the_stock(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    shopper: dict[str, str],
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
) -> None:
    product = await tee(client, admin, stock=5)
    order = await bought(client, shopper, product, 2, payment_method="tok_visa")

    confirmed = await settled(client, shopper, order["id"], "CONFIRMED")

    assert [p["status"] for p in confirmed["payments"]] == ["SUCCEEDED"]
    assert await stock_totals(sessions, product["variants"][0]["id"]) == (3, 0)
    assert await ledger_broken(sessions, [product["variants"][0]["id"]]) == []

    async def warehouse_events() -> list[str]:
        with open_warehouse(settings.warehouse_dir) as warehouse:
            found = warehouse.execute(
                "SELECT event FROM fact_order_events WHERE order_id = ? ORDER BY event_seq",
                [order["id"]],
            ).fetchall()
            paid = warehouse.execute(
                "SELECT count(*) FROM fact_payments WHERE order_id = ?", [order["id"]]
            ).fetchone()
        return [row[0] for row in found] + (["paid"] if paid and paid[0] else [])

    await eventually(warehouse_events, lambda found: found == ["created", "confirmed", "paid"])


async def test_a_transient_provider_failure_is_retried_and_the_order_confirmed(
    client: httpx.AsyncClient, admin: dict[str, str], shopper: dict[str, str]
) -> None:
    product = await tee(client, admin)
    order = await bought(client, shopper, product, 1, payment_method="tok_transient")
    confirmed = await settled(client, shopper, order["id"], "CONFIRMED")
    assert [p["status"] for p in confirmed["payments"]] == ["SUCCEEDED"]


async def test_a_declined_card_fails_the_order_and_gives_the_stock_back(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    shopper: dict[str, str],
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    product = await tee(client, admin, stock=5)
    order = await bought(client, shopper, product, 2)

    declined = await client.post(
        f"/api/orders/{order['id']}/pay", json={"payment_method": "tok_declined"}, headers=shopper
    )

    assert declined.status_code == 402, declined.text
    assert declined.json()["code"] == "card_declined"
    failed = await settled(client, shopper, order["id"], "FAILED")
    assert [p["status"] for p in failed["payments"]] == ["FAILED"]
    assert await stock_totals(sessions, product["variants"][0]["id"]) == (5, 0)
    again = await client.post(
        f"/api/orders/{order['id']}/pay", json={"payment_method": "tok_visa"}, headers=shopper
    )
    assert again.status_code == 409


async def test_cancelling_a_paid_order_refunds_it_and_restocks(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    shopper: dict[str, str],
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    product = await tee(client, admin, stock=5)
    order = await bought(client, shopper, product, 2, payment_method="tok_visa")
    await settled(client, shopper, order["id"], "CONFIRMED")

    cancelled = await client.post(f"/api/orders/{order['id']}/cancel", headers=shopper)

    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "CANCELLED"
    refunded = await eventually(
        lambda: order_of(client, shopper, order["id"]),
        lambda o: o["payments"][0]["status"] == "REFUNDED",
    )
    assert refunded["payments"][0]["refunded"] == order["total"]
    assert await stock_totals(sessions, product["variants"][0]["id"]) == (5, 0)
    assert await ledger_broken(sessions, [product["variants"][0]["id"]]) == []
    twice = await client.post(f"/api/orders/{order['id']}/cancel", headers=shopper)
    assert twice.status_code == 409


async def test_staff_move_orders_along_and_a_shipped_order_cannot_be_cancelled(
    client: httpx.AsyncClient, admin: dict[str, str], shopper: dict[str, str]
) -> None:
    product = await tee(client, admin)
    order = await bought(client, shopper, product, 1, payment_method="tok_visa")
    await settled(client, shopper, order["id"], "CONFIRMED")
    url = f"/api/admin/orders/{order['id']}/status"

    skipped = await client.patch(url, json={"status": "DELIVERED"}, headers=admin)
    assert skipped.status_code == 409
    assert skipped.json()["allowed"] == ["PROCESSING"]
    for status in ("PROCESSING", "SHIPPED"):
        moved = await client.patch(url, json={"status": status}, headers=admin)
        assert moved.status_code == 200 and moved.json()["status"] == status
    unknown = await client.patch(url, json={"status": "LOST"}, headers=admin)
    assert unknown.status_code == 422
    by_shopper = await client.patch(url, json={"status": "DELIVERED"}, headers=shopper)
    assert by_shopper.status_code == 403

    refused = await client.post(f"/api/orders/{order['id']}/cancel", headers=shopper)
    assert refused.status_code == 409 and refused.json()["status_now"] == "SHIPPED"


async def test_an_unpaid_order_expires_and_releases_its_stock(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    shopper: dict[str, str],
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    product = await tee(client, admin, stock=5)
    order = await bought(client, shopper, product, 2)
    async with transaction(sessions) as session:
        await session.execute(
            text("UPDATE orders SET expires_at = :past WHERE id = :id"),
            {"past": datetime.now(UTC) - timedelta(seconds=1), "id": uuid.UUID(order["id"])},
        )

    await settled(client, shopper, order["id"], "EXPIRED")

    assert await stock_totals(sessions, product["variants"][0]["id"]) == (5, 0)
    late = await client.post(
        f"/api/orders/{order['id']}/pay", json={"payment_method": "tok_visa"}, headers=shopper
    )
    assert late.status_code == 409


async def test_a_delivered_line_is_returned_restocked_and_refunded_with_its_discount(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    shopper: dict[str, str],
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    product = await tee(client, admin, stock=5)
    code = await coupon(client, admin)  # 10 % off
    await add(client, shopper, product, variant_id=product["variants"][0]["id"], quantity=2)
    applied = await client.post("/api/cart/coupon", json={"code": code}, headers=shopper)
    assert applied.status_code == 200, applied.text
    placed = await checkout(client, shopper, payment_method="tok_visa")
    assert placed.status_code == 201, placed.text
    order = placed.json()
    assert (order["subtotal"], order["discount"], order["total"]) == ("40.00", "4.00", "36.00")
    line = order["lines"][0]
    assert line["discount"] == "4.00"
    await settled(client, shopper, order["id"], "CONFIRMED")
    early = await client.post(
        f"/api/orders/{order['id']}/returns",
        json={"lines": [{"line_id": line["id"], "quantity": 1}], "reason": "too small"},
        headers=shopper,
    )
    assert early.status_code == 409
    for status in ("PROCESSING", "SHIPPED", "DELIVERED"):
        await client.patch(
            f"/api/admin/orders/{order['id']}/status", json={"status": status}, headers=admin
        )

    too_many = await client.post(
        f"/api/orders/{order['id']}/returns",
        json={"lines": [{"line_id": line["id"], "quantity": 3}], "reason": "too small"},
        headers=shopper,
    )
    assert too_many.status_code == 409
    requested = await client.post(
        f"/api/orders/{order['id']}/returns",
        json={"lines": [{"line_id": line["id"], "quantity": 1}], "reason": "too small"},
        headers=shopper,
    )
    assert requested.status_code == 201, requested.text
    assert requested.json()["refund"] == "18.00"  # 20.00 less its 2.00 share of the discount
    approved = await client.patch(
        f"/api/admin/returns/{requested.json()['id']}", json={"status": "APPROVED"}, headers=admin
    )
    assert approved.status_code == 200, approved.text

    refunded = await eventually(
        lambda: order_of(client, shopper, order["id"]),
        lambda o: o["payments"][0]["refunded"] == "18.00",
    )
    assert refunded["lines"][0]["returned_quantity"] == 1
    assert await stock_totals(sessions, product["variants"][0]["id"]) == (4, 0)
    assert await ledger_broken(sessions, [product["variants"][0]["id"]]) == []


async def test_orders_in_yen_have_no_minor_unit_and_record_their_rate(
    client: httpx.AsyncClient, admin: dict[str, str], shopper: dict[str, str]
) -> None:
    product = await tee(client, admin)
    await add(client, shopper, product, variant_id=product["variants"][0]["id"], quantity=3)
    cart = await client.get("/api/cart", params={"currency": "jpy"}, headers=shopper)
    assert cart.status_code == 200 and cart.json()["currency"] == "JPY"

    placed = await checkout(client, shopper, currency="JPY")

    assert placed.status_code == 201, placed.text
    order = placed.json()
    rate = Decimal(order["rate"])
    unit = (Decimal("20.00") * rate).quantize(Decimal(1))
    assert Decimal(order["lines"][0]["unit_price"]) == unit
    assert Decimal(order["total"]) == unit * 3 and Decimal(order["total"]) % 1 == 0
    assert order["rate_date"] and Decimal(cart.json()["total"]) == Decimal(order["total"])
    shown = await order_of(client, shopper, order["id"])  # as read back from the database
    assert "." not in shown["total"] and "." not in shown["lines"][0]["unit_price"]
    listed = (await client.get("/api/orders", headers=shopper)).json()["items"]
    assert "." not in next(o for o in listed if o["id"] == order["id"])["total"]


async def test_orders_are_private_and_staff_filter_them(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    shopper: dict[str, str],
    accounts: dict[str, dict[str, str]],
) -> None:
    product = await tee(client, admin)
    order = await bought(client, shopper, product, 1)
    mine = await client.get("/api/orders", headers=shopper)
    assert [o["id"] for o in mine.json()["items"]] == [order["id"]]

    stranger = accounts["CUSTOMER"]
    assert (await client.get(f"/api/orders/{order['id']}", headers=stranger)).status_code == 404
    assert (
        await client.post(f"/api/orders/{order['id']}/cancel", headers=stranger)
    ).status_code == 404
    assert (await client.get(f"/api/orders/{order['id']}", headers=admin)).status_code == 200

    pending = await client.get(
        "/api/admin/orders",
        params={"status": "PENDING", "customer_id": order["customer_id"]},
        headers=admin,
    )
    assert [o["id"] for o in pending.json()["items"]] == [order["id"]]
    later = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    none = await client.get("/api/admin/orders", params={"created_from": later}, headers=admin)
    assert none.status_code == 200 and none.json()["total"] == 0
    naive = await client.get(
        "/api/admin/orders", params={"created_from": "2026-01-01T00:00"}, headers=admin
    )
    assert naive.status_code == 422
    assert (await client.get("/api/admin/orders", headers=shopper)).status_code == 403


async def test_bad_checkout_input_is_a_problem_and_holds_nothing(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    shopper: dict[str, str],
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    product = await tee(client, admin, stock=5)
    variant = product["variants"][0]
    await add(client, shopper, product, variant_id=variant["id"], quantity=1)
    bad_bodies: list[dict[str, Any]] = [
        {},
        {"shipping_address": {**ADDRESS, "country": "USA"}},
        {"shipping_address": ADDRESS, "currency": "XYZ"},
        {"shipping_address": ADDRESS, "payment_method": "4242424242424242"},
        {"shipping_address": ADDRESS, "acknowledged_prices": {variant["id"]: "-1"}},
        {"shipping_address": ADDRESS, "surprise": True},
    ]
    for body in bad_bodies:
        response = await client.post("/api/orders", json=body, headers={**shopper, **key()})
        assert response.status_code == 422, (body, response.text)
        assert response.headers["content-type"] == "application/problem+json"
    unsupported = await client.post(
        "/api/orders",
        json={"shipping_address": ADDRESS},
        params={"currency": "XYZ"},
        headers={**shopper, **key()},
    )
    assert unsupported.status_code == 422 and "JPY" in unsupported.json()["supported"]
    assert await stock_totals(sessions, variant["id"]) == (5, 0)
    for path in ("pay", "cancel", "returns"):
        missing = await client.post(
            f"/api/orders/{uuid.uuid4()}/{path}",
            json={"payment_method": "tok_visa"} if path == "pay" else None,
            headers=shopper,
        )
        assert missing.status_code in (404, 422), (path, missing.text)


async def test_unpaid_orders_are_capped_per_customer_and_held_for_less_time(
    client: httpx.AsyncClient, admin: dict[str, str], shopper: dict[str, str]
) -> None:
    product = await tee(client, admin, stock=20)
    unpaid = [await bought(client, shopper, product, 1) for _ in range(3)]
    for order in unpaid:
        held = datetime.fromisoformat(order["expires_at"]) - datetime.fromisoformat(
            order["created_at"]
        )
        assert timedelta(minutes=4) < held <= timedelta(minutes=5), "5 min without a card"

    await add(client, shopper, product, variant_id=product["variants"][0]["id"], quantity=1)
    refused = await checkout(client, shopper)
    assert refused.status_code == 409, refused.text
    problem = refused.json()
    assert problem["limit"] == "unpaid_orders_per_customer"
    assert sorted(problem["open_orders"]) == sorted(order["id"] for order in unpaid)

    paying = await checkout(client, shopper, payment_method="tok_visa")
    assert paying.status_code == 201, "an order paid at checkout is not held unpaid"
    paid_hold = datetime.fromisoformat(paying.json()["expires_at"]) - datetime.fromisoformat(
        paying.json()["created_at"]
    )
    assert paid_hold > timedelta(minutes=14)

    cancelled = await client.post(f"/api/orders/{unpaid[0]['id']}/cancel", headers=shopper)
    assert cancelled.status_code == 200, cancelled.text
    await add(client, shopper, product, variant_id=product["variants"][0]["id"], quantity=1)
    assert (await checkout(client, shopper)).status_code == 201, "one slot given back"


async def test_unpaid_orders_from_one_address_are_capped(
    client: httpx.AsyncClient, admin: dict[str, str], settings: Settings
) -> None:
    product = await tee(client, admin, stock=20)
    app = create_app(settings.model_copy(update={"unpaid_orders_per_address": 2}))

    async def from_host(host: str) -> httpx.Response:
        transport = httpx.ASGITransport(app=app, client=(host, 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as there:
            shopper = await register_shopper(there)
            await add(there, shopper, product, variant_id=product["variants"][0]["id"], quantity=1)
            return await checkout(there, shopper)

    async with app.router.lifespan_context(app):
        first, second, third = [await from_host("2001:db8:77::1") for _ in range(3)]
        elsewhere = await from_host("2001:db8:78::1")

    assert (first.status_code, second.status_code) == (201, 201)
    assert third.status_code == 429, third.text
    assert third.json()["limit"] == "unpaid_orders_per_address"
    assert 0 < int(third.headers["retry-after"]) <= 300
    assert elsewhere.status_code == 201, "another address has its own allowance"
