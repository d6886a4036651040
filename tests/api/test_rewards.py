"""Achievements and quests end to end: orders -> the worker's rewards step -> unlocks,
completions and reward codes; refunds take quest progress back."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from commerce.db import transaction
from commerce.events import Envelope
from commerce.outbox import OutboxRow
from commerce.rewards.models import AchievementUnlock
from commerce.rewards.service import review, review_steps
from commerce.unit_of_work import UnitOfWork
from streams.consumers import Consumer, consume
from streams.steps import REWARDS
from tests.api.test_cart import add, tee
from tests.api.test_notifications import address, arrived, register
from tests.api.test_orders import bought, checkout, order_of, settled
from tests.conftest import eventually
from tests.factories import create_product, set_stock
from tests.mailbox import Mailbox

pytestmark = pytest.mark.usefixtures("reference", "worker")


async def me(client: httpx.AsyncClient, who: dict[str, str]) -> uuid.UUID:
    return uuid.UUID((await client.get("/api/auth/me", headers=who)).json()["id"])


async def achievements(client: httpx.AsyncClient, who: dict[str, str]) -> dict[str, Any]:
    response = await client.get("/api/me/achievements", headers=who)
    assert response.status_code == 200, response.text
    return {a["code"]: a for a in response.json()}


async def quest(client: httpx.AsyncClient, admin: dict[str, str], **fields: Any) -> dict[str, Any]:
    now = datetime.now(UTC)
    body = {
        "title": f"Quest {uuid.uuid4().hex[:6]}",
        "description": "Buy from two categories this week",
        "goal_kind": "categories",
        "goal": 2,
        "starts_at": (now - timedelta(hours=1)).isoformat(),
        "ends_at": (now + timedelta(days=7)).isoformat(),
        "reward_percent": "15",
        "reward_days": 7,
        **fields,
    }
    response = await client.post("/api/admin/quests", json=body, headers=admin)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def enrolment(client: httpx.AsyncClient, who: dict[str, str], quest_id: str) -> Any:
    response = await client.get("/api/me/quests", headers=who)
    assert response.status_code == 200, response.text
    return next(e for e in response.json() if e["quest"]["id"] == quest_id)


async def lantern(client: httpx.AsyncClient, admin: dict[str, str]) -> dict[str, Any]:
    """A product in another category than the tees (camping)."""
    product = await create_product(client, admin, category="camping", price="30.00")
    await set_stock(client, admin, product["sku"], 10)
    return product


async def test_first_order_unlocks_once_even_when_its_events_come_again(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    mailbox: Mailbox,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    email = address("achiever")
    who = await register(client, email)
    customer = await me(client, who)
    before = await achievements(client, who)
    assert before["first_order"]["unlocked_at"] is None and before["first_order"]["progress"] == "0"
    product = await tee(client, admin, stock=5)
    order = await bought(client, who, product, 1, payment_method="tok_visa")
    await settled(client, who, order["id"], "CONFIRMED")

    unlocked = await eventually(
        lambda: achievements(client, who), lambda a: a["first_order"]["unlocked_at"] is not None
    )
    assert (unlocked["five_orders"]["progress"], unlocked["five_orders"]["unlocked_at"]) == (
        "1",
        None,
    )
    await arrived(mailbox, email, "Achievement unlocked: First order")

    async with sessions() as session:
        row = await session.scalar(
            select(OutboxRow).where(
                OutboxRow.key == order["id"], OutboxRow.event["type"].astext == "order.confirmed"
            )
        )
    assert row is not None
    confirmed = Envelope.model_validate({**row.event, "seq": row.seq})
    consumer = Consumer(REWARDS, steps=review_steps, types=frozenset({"order.confirmed"}))
    # Delivered again: recorded as handled (or passed by the checkpoint), so not run again.
    assert await consume(sessions, consumer, [confirmed]) == 0
    for _ in range(2):  # reviewed again anyway, as after any other event of the customer
        async with transaction(sessions) as session:
            await review(session, customer, datetime.now(UTC))

    async with sessions() as session:
        unlocks = await session.scalar(
            select(func.count()).where(AchievementUnlock.user_id == customer)
        )
        announced = await session.scalar(
            select(func.count())
            .select_from(OutboxRow)
            .where(
                OutboxRow.key == str(customer),
                OutboxRow.event["type"].astext == "achievement.unlocked",
            )
        )
    assert (unlocks, announced) == (1, 1)
    assert len([m for m in mailbox.to(email) if "Achievement" in m["Subject"]]) == 1


async def test_a_batch_reviews_each_customer_by_their_own_orders(
    client: httpx.AsyncClient, admin: dict[str, str], sessions: async_sessionmaker[AsyncSession]
) -> None:
    product = await tee(client, admin, stock=10)
    shoppers = [await register(client, address("batch")) for _ in range(3)]
    buyers, idle = shoppers[:2], shoppers[2]
    confirmed = []
    for who in buyers:
        order = await bought(client, who, product, 1, payment_method="tok_visa")
        await settled(client, who, order["id"], "CONFIRMED")
        confirmed.append(order["id"])
    ids = [await me(client, who) for who in shoppers]
    for who in buyers:  # the worker's own review first
        await eventually(
            lambda who=who: achievements(client, who),
            lambda a: a["first_order"]["unlocked_at"] is not None,
        )
    async with transaction(sessions) as session:
        await session.execute(delete(AchievementUnlock).where(AchievementUnlock.user_id.in_(ids)))
        rows = await session.scalars(
            select(OutboxRow).where(
                OutboxRow.key.in_(confirmed), OutboxRow.event["type"].astext == "order.confirmed"
            )
        )
        events = [Envelope.model_validate({**row.event, "seq": row.seq}) for row in rows]
    bought_nothing = Envelope(
        type="order.confirmed",
        aggregate_id=str(uuid.uuid4()),
        aggregate_version=1,
        payload={"customer_id": str(ids[2])},
    )

    for _ in range(2):  # reviewed again: unlocked once
        async with UnitOfWork(sessions) as uow:
            await review_steps([*events, bought_nothing], uow)

    async with sessions() as session:
        unlocks = await session.execute(
            select(AchievementUnlock.user_id, AchievementUnlock.code).where(
                AchievementUnlock.user_id.in_(ids)
            )
        )
        found = sorted(unlocks.tuples().all())
    assert found == sorted((user_id, "first_order") for user_id in ids[:2])
    assert (await achievements(client, idle))["first_order"]["unlocked_at"] is None


async def test_a_quest_completes_grants_a_code_that_works_once_and_only_for_its_owner(
    client: httpx.AsyncClient, admin: dict[str, str], mailbox: Mailbox
) -> None:
    email = address("quester")
    who = await register(client, email)
    goal = await quest(client, admin)
    listed = await client.get("/api/quests")
    assert goal["id"] in [q["id"] for q in listed.json()]
    tees, lanterns = await tee(client, admin, stock=10), await lantern(client, admin)

    started = await client.post(f"/api/quests/{goal['id']}/start", headers=who)
    assert started.status_code == 201, started.text
    assert started.json()["progress"] == "0"
    twice = await client.post(f"/api/quests/{goal['id']}/start", headers=who)
    assert twice.status_code == 409
    first = await bought(client, who, tees, 1, payment_method="tok_visa")
    await settled(client, who, first["id"], "CONFIRMED")
    assert (await enrolment(client, who, goal["id"]))["progress"] == "1"
    second = await bought(client, who, lanterns, 1, payment_method="tok_visa")
    await settled(client, who, second["id"], "CONFIRMED")

    done = await eventually(
        lambda: enrolment(client, who, goal["id"]), lambda e: e["reward"] is not None
    )
    code = done["reward"]["code"]
    assert (done["progress"], done["reward"]["percent"], done["reward"]["used"]) == (
        "2",
        "15.00",
        False,
    )
    told = await arrived(mailbox, email, f"Quest complete: {goal['title']}")
    assert code in Mailbox.text(told)

    stranger = await register(client, address())
    await add(client, stranger, tees, variant_id=tees["variants"][0]["id"], quantity=1)
    not_theirs = await client.post("/api/cart/coupon", json={"code": code}, headers=stranger)
    assert (not_theirs.status_code, not_theirs.json()["rule"]) == (422, "not_yours")

    await add(client, who, tees, variant_id=tees["variants"][0]["id"], quantity=1)
    applied = await client.post("/api/cart/coupon", json={"code": code}, headers=who)
    assert applied.status_code == 200, applied.text
    paid = await checkout(client, who, payment_method="tok_visa")
    assert paid.status_code == 201, paid.text
    assert (paid.json()["subtotal"], paid.json()["discount"]) == ("20.00", "3.00")
    await add(client, who, tees, variant_id=tees["variants"][0]["id"], quantity=1)
    used_up = await client.post("/api/cart/coupon", json={"code": code}, headers=who)
    assert (used_up.status_code, used_up.json()["rule"]) == (422, "usage_limit")


async def test_a_cancelled_order_takes_quest_progress_back_and_withdraws_the_unused_code(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    who = await register(client, address("refunded"))
    goal = await quest(client, admin, goal_kind="orders", goal=1)
    product = await tee(client, admin, stock=5)
    await client.post(f"/api/quests/{goal['id']}/start", headers=who)
    order = await bought(client, who, product, 1, payment_method="tok_visa")
    await settled(client, who, order["id"], "CONFIRMED")
    done = await eventually(
        lambda: enrolment(client, who, goal["id"]), lambda e: e["reward"] is not None
    )
    code = done["reward"]["code"]

    cancelled = await client.post(f"/api/orders/{order['id']}/cancel", headers=who)

    assert cancelled.status_code == 200, cancelled.text
    reopened = await eventually(
        lambda: enrolment(client, who, goal["id"]), lambda e: e["completed_at"] is None
    )
    assert (reopened["progress"], reopened["reward"]) == ("0", None)
    await add(client, who, product, variant_id=product["variants"][0]["id"], quantity=1)
    withdrawn = await client.post("/api/cart/coupon", json={"code": code}, headers=who)
    assert (withdrawn.status_code, withdrawn.json()["rule"]) == (422, "unknown")


async def test_orders_that_earned_a_spent_reward_cannot_be_cancelled_for_a_full_refund(
    client: httpx.AsyncClient, admin: dict[str, str], accounts: dict[str, dict[str, str]]
) -> None:
    who = await register(client, address("exploit"))
    goal = await quest(client, admin, goal_kind="orders", goal=2, reward_percent="100")
    cheap, dear = await tee(client, admin, stock=10), await lantern(client, admin)
    await client.post(f"/api/quests/{goal['id']}/start", headers=who)
    earned = [await bought(client, who, cheap, 1, payment_method="tok_visa") for _ in range(2)]
    for order in earned:
        await settled(client, who, order["id"], "CONFIRMED")
    done = await eventually(
        lambda: enrolment(client, who, goal["id"]), lambda e: e["reward"] is not None
    )
    await add(client, who, dear, variant_id=dear["variants"][0]["id"], quantity=5)
    applied = await client.post(
        "/api/cart/coupon", json={"code": done["reward"]["code"]}, headers=who
    )
    assert applied.status_code == 200, applied.text
    big = (await checkout(client, who, payment_method="tok_visa")).json()
    assert big["total"] == "0.00", "the whole cart for the reward"

    refused = await client.post(f"/api/orders/{earned[0]['id']}/cancel", headers=who)

    assert refused.status_code == 409, refused.text
    assert refused.json()["spent_on"] == big["id"]
    assert (await order_of(client, who, earned[0]["id"]))["status"] == "CONFIRMED"
    # Staff may still cancel it (the shop's own reasons: it cannot ship): never refused.
    by_staff = await client.post(f"/api/orders/{earned[1]['id']}/cancel", headers=accounts["STAFF"])
    assert by_staff.status_code == 200, by_staff.text
    # Giving the discounted order back gives the code back; then the rest may go.
    assert (await client.post(f"/api/orders/{big['id']}/cancel", headers=who)).is_success
    assert (await client.post(f"/api/orders/{earned[0]['id']}/cancel", headers=who)).is_success
    reopened = await eventually(
        lambda: enrolment(client, who, goal["id"]), lambda e: e["completed_at"] is None
    )
    assert reopened["reward"] is None, "the code is withdrawn"
    # Staff may still cancel a customer's order (a shop's own reasons): no refusal there.
    other = await bought(client, who, cheap, 1, payment_method="tok_visa")
    await settled(client, who, other["id"], "CONFIRMED")
    by_staff = await client.post(f"/api/orders/{other['id']}/cancel", headers=accounts["STAFF"])
    assert by_staff.status_code == 200, by_staff.text


async def test_units_that_earned_a_spent_reward_cannot_be_returned_for_a_refund(
    client: httpx.AsyncClient, admin: dict[str, str], accounts: dict[str, dict[str, str]]
) -> None:
    who = await register(client, address("returner"))
    goal = await quest(client, admin, goal_kind="orders", goal=1, reward_percent="50")
    cheap, dear = await tee(client, admin, stock=10), await lantern(client, admin)
    await client.post(f"/api/quests/{goal['id']}/start", headers=who)
    earned = await bought(client, who, cheap, 1, payment_method="tok_visa")
    await settled(client, who, earned["id"], "CONFIRMED")
    for status in ("PROCESSING", "SHIPPED", "DELIVERED"):
        moved = await client.patch(
            f"/api/admin/orders/{earned['id']}/status",
            json={"status": status},
            headers=accounts["STAFF"],
        )
        assert moved.status_code == 200, moved.text
    done = await eventually(
        lambda: enrolment(client, who, goal["id"]), lambda e: e["reward"] is not None
    )
    await add(client, who, dear, variant_id=dear["variants"][0]["id"], quantity=2)
    reward = {"code": done["reward"]["code"]}
    assert (await client.post("/api/cart/coupon", json=reward, headers=who)).is_success
    spent = (await checkout(client, who, payment_method="tok_visa")).json()

    line = earned["lines"][0]["id"]
    returned = await client.post(
        f"/api/orders/{earned['id']}/returns",
        json={"lines": [{"line_id": line, "quantity": 1}], "reason": "changed my mind"},
        headers=who,
    )

    assert returned.status_code == 409, returned.text
    assert returned.json()["spent_on"] == spent["id"]


async def test_quests_refuse_bad_definitions_and_starts_outside_their_window(
    client: httpx.AsyncClient, admin: dict[str, str], shopper: dict[str, str]
) -> None:
    now = datetime.now(UTC)
    for bad in (
        {"ends_at": (now - timedelta(days=30)).isoformat()},
        {"starts_at": "2026-01-01T00:00:00", "ends_at": "2026-02-01T00:00:00"},
        {"goal_kind": "dance"},
        {"goal": "1.5"},
        {"reward_percent": "150"},
        {"title": ""},
    ):
        response = await client.post(
            "/api/admin/quests",
            json={
                "title": "Bad",
                "goal_kind": "orders",
                "goal": 1,
                "starts_at": now.isoformat(),
                "ends_at": (now + timedelta(days=1)).isoformat(),
                "reward_percent": "10",
                **bad,
            },
            headers=admin,
        )
        assert response.status_code == 422, (bad, response.text)
    over = await quest(
        client,
        admin,
        starts_at=(now - timedelta(days=2)).isoformat(),
        ends_at=(now - timedelta(days=1)).isoformat(),
    )
    retired = await quest(client, admin)
    patched = await client.patch(
        f"/api/admin/quests/{retired['id']}", json={"active": False}, headers=admin
    )
    assert patched.status_code == 200 and patched.json()["active"] is False

    ended = await client.post(f"/api/quests/{over['id']}/start", headers=shopper)
    gone = await client.post(f"/api/quests/{retired['id']}/start", headers=shopper)
    unknown = await client.post(f"/api/quests/{uuid.uuid4()}/start", headers=shopper)

    assert ended.status_code == 422
    assert gone.status_code == unknown.status_code == 404
    listed = [q["id"] for q in (await client.get("/api/quests")).json()]
    assert over["id"] not in listed and retired["id"] not in listed
    staff_list = await client.get("/api/admin/quests", headers=admin)
    assert retired["id"] in [q["id"] for q in staff_list.json()["items"]]
