"""Notifications end to end: events -> the worker's notify step -> emails on a real SMTP
server (aiosmtpd) and in-app history; preferences, retries and dead letters."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from commerce.notifications.models import EmailDelivery
from commerce.outbox import DeadLetter
from tests.api.test_cart import tee
from tests.api.test_orders import bought, settled
from tests.conftest import PASSWORD, eventually
from tests.factories import set_stock
from tests.mailbox import Mailbox

pytestmark = pytest.mark.usefixtures("reference", "worker")


def address(prefix: str = "note") -> str:
    return f"{prefix}{uuid.uuid4().hex[:10]}@example.com"


async def register(
    client: httpx.AsyncClient, email: str, first_name: str = "Nora"
) -> dict[str, str]:
    body = {"email": email, "password": PASSWORD, "first_name": first_name, "last_name": "Note"}
    response = await client.post("/api/auth/register", json=body)
    assert response.status_code == 201, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def arrived(mailbox: Mailbox, to: str, subject_part: str) -> Any:
    """The email to `to` whose subject mentions `subject_part`, once it arrived."""

    async def matching() -> list[Any]:
        return [m for m in mailbox.to(to) if subject_part in m["Subject"]]

    found = await eventually(matching, lambda found: len(found) >= 1)
    return found[0]


async def history(client: httpx.AsyncClient, who: dict[str, str], **params: Any) -> dict[str, Any]:
    response = await client.get("/api/me/notifications", params=params, headers=who)
    assert response.status_code == 200, response.text
    page: dict[str, Any] = response.json()
    return page


async def test_a_new_account_is_welcomed_by_email_and_in_the_app(
    client: httpx.AsyncClient, mailbox: Mailbox
) -> None:
    email = address()
    who = await register(client, email, first_name="Ada <b>")

    welcome = await arrived(mailbox, email, "Welcome to Storefront")
    assert "Hello Ada <b>," in Mailbox.text(welcome)
    assert "Hello Ada &lt;b&gt;," in Mailbox.html(welcome)  # names cannot inject markup
    page = await eventually(lambda: history(client, who), lambda p: p["total"] == 1)
    assert page["unread"] == 1 and page["items"][0]["kind"] == "welcome"


async def test_each_order_email_reaches_its_customer_with_the_order(
    client: httpx.AsyncClient, admin: dict[str, str], mailbox: Mailbox
) -> None:
    email = address()
    who = await register(client, email)
    product = await tee(client, admin, stock=5, name="Mailed Tee")
    order = await bought(client, who, product, 2, payment_method="tok_visa")
    number = order["id"].replace("-", "")[:8].upper()
    await settled(client, who, order["id"], "CONFIRMED")

    confirmation = await arrived(mailbox, email, f"We received your order {number}")
    receipt = await arrived(mailbox, email, f"Receipt for order {number}")
    assert "2 x Mailed Tee" in Mailbox.text(confirmation)
    assert f"payment of {order['total']} {order['currency']}" in Mailbox.text(receipt)
    url = f"/api/admin/orders/{order['id']}/status"
    for status in ("PROCESSING", "SHIPPED", "DELIVERED"):
        moved = await client.patch(url, json={"status": status}, headers=admin)
        assert moved.status_code == 200, moved.text
    await arrived(mailbox, email, f"Your order {number} is on its way")
    await arrived(mailbox, email, f"Your order {number} was delivered")

    other = await bought(client, who, product, 1, payment_method="tok_visa")
    other_number = other["id"].replace("-", "")[:8].upper()
    await settled(client, who, other["id"], "CONFIRMED")
    cancelled = await client.post(f"/api/orders/{other['id']}/cancel", headers=who)
    assert cancelled.status_code == 200, cancelled.text
    cancellation = await arrived(mailbox, email, f"Your order {other_number} was cancelled")
    assert f"refunding {other['total']}" in Mailbox.text(cancellation)
    await arrived(
        mailbox, email, f"Refund of {other['total']} {other['currency']} for order {other_number}"
    )
    assert [m["To"] for m in mailbox.to(email)] == [email] * len(mailbox.to(email))


async def test_preferences_turn_a_channel_off(
    client: httpx.AsyncClient, admin: dict[str, str], mailbox: Mailbox
) -> None:
    email = address()
    who = await register(client, email)
    await arrived(mailbox, email, "Welcome")
    defaults = await client.get("/api/me/notification-preferences", headers=who)
    assert defaults.json() == {"email": True, "in_app": True, "stock_alerts": False}

    off = await client.put(
        "/api/me/notification-preferences", json={"email": False, "in_app": True}, headers=who
    )
    assert off.status_code == 200 and off.json()["email"] is False
    product = await tee(client, admin, stock=5)
    order = await bought(client, who, product, 1, payment_method="tok_visa")
    await settled(client, who, order["id"], "CONFIRMED")

    # The first paid order also unlocks an achievement: four in all, none by email.
    every = {"welcome", "order_confirmation", "payment_receipt", "achievement_unlocked"}
    await eventually(
        lambda: history(client, who), lambda p: {i["kind"] for i in p["items"]} == every
    )
    assert [m["Subject"] for m in mailbox.to(email)] == ["Welcome to Storefront"]

    quiet = await client.put(
        "/api/me/notification-preferences", json={"email": True, "in_app": False}, headers=who
    )
    assert quiet.status_code == 200
    second = await bought(client, who, product, 1, payment_method="tok_visa")
    number = second["id"].replace("-", "")[:8].upper()
    await arrived(mailbox, email, f"Receipt for order {number}")
    assert (await history(client, who))["total"] == 4

    bad = await client.put(
        "/api/me/notification-preferences", json={"email": "sometimes"}, headers=who
    )
    assert bad.status_code == 422 and bad.headers["content-type"] == "application/problem+json"
    extra = await client.put("/api/me/notification-preferences", json={"sms": True}, headers=who)
    assert extra.status_code == 422


async def test_history_is_read_one_at_a_time_or_all_at_once(
    client: httpx.AsyncClient, admin: dict[str, str], shopper: dict[str, str]
) -> None:
    product = await tee(client, admin, stock=5)
    order = await bought(client, shopper, product, 1, payment_method="tok_visa")
    await settled(client, shopper, order["id"], "CONFIRMED")
    # welcome, confirmation, receipt, and the first order's achievement
    page = await eventually(lambda: history(client, shopper), lambda p: p["total"] == 4)
    assert page["unread"] == 4
    newest = page["items"][0]

    read = await client.patch(
        f"/api/me/notifications/{newest['id']}", json={"read": True}, headers=shopper
    )
    assert read.status_code == 200 and read.json()["read"] is True
    unread = await history(client, shopper, unread="true")
    assert unread["unread"] == 3 and newest["id"] not in [i["id"] for i in unread["items"]]

    marked = await client.post("/api/me/notifications/read", headers=shopper)
    assert marked.json() == {"marked": 3}
    assert (await history(client, shopper))["unread"] == 0
    someone_else = await register(client, address())
    hidden = await client.patch(
        f"/api/me/notifications/{newest['id']}", json={"read": False}, headers=someone_else
    )
    assert hidden.status_code == 404
    paged = await history(client, shopper, size=1, page=2)
    assert len(paged["items"]) == 1 and paged["total"] == 4


async def test_staff_who_chose_it_get_low_stock_alerts_by_email(
    client: httpx.AsyncClient, admin: dict[str, str], mailbox: Mailbox
) -> None:
    chose = await client.put(
        "/api/me/notification-preferences",
        json={"email": True, "in_app": True, "stock_alerts": True},
        headers=admin,
    )
    assert chose.status_code == 200
    product = await tee(client, admin, stock=50)
    sku = product["variants"][0]["sku"]

    await set_stock(client, admin, sku, 3)

    alert = await arrived(mailbox, "admin@accounts.example.com", f"Low stock: {sku}")
    assert "down to 3 available, below its line of 10" in Mailbox.text(alert)
    # Back to the default, so the shared admin is not mailed by every later test.
    await client.put("/api/me/notification-preferences", json={}, headers=admin)


async def test_a_refused_email_is_retried_with_backoff_until_it_is_accepted(
    client: httpx.AsyncClient, mailbox: Mailbox
) -> None:
    email = address("flaky")

    await register(client, email)

    await arrived(mailbox, email, "Welcome")
    assert mailbox.refused[email] == 2


async def test_an_email_refused_every_time_ends_as_a_dead_letter(
    client: httpx.AsyncClient, mailbox: Mailbox, sessions: async_sessionmaker[AsyncSession]
) -> None:
    email = address("bounce")

    await register(client, email)

    async def given_up() -> EmailDelivery | None:
        async with sessions() as session:
            return await session.scalar(
                select(EmailDelivery).where(
                    EmailDelivery.recipient == email, EmailDelivery.failed_at.is_not(None)
                )
            )

    delivery = await eventually(given_up, lambda d: d is not None)
    assert delivery is not None and delivery.attempts == 3 and "451" in (delivery.last_error or "")
    assert mailbox.refused[email] == 3
    async with sessions() as session:
        letters = list(
            await session.scalars(
                select(DeadLetter).where(
                    DeadLetter.topic == "notifications", DeadLetter.event.contains(email)
                )
            )
        )
    assert [letter.consumer for letter in letters] == ["mailer"]
