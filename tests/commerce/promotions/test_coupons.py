"""Coupons on the real database: every rule, case-insensitive codes, and the race for the
last use."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from commerce.db import transaction
from commerce.identity.service import create_user
from commerce.promotions import service
from commerce.promotions.errors import CodeTaken, CouponRejected, InvalidTerms
from commerce.promotions.models import Coupon, CouponRedemption
from commerce.promotions.schemas import Basket, BasketLine, CouponIn, CouponPatch, Discount
from tests.conftest import PASSWORD

pytestmark = pytest.mark.usefixtures("reference")

Sessions = async_sessionmaker[AsyncSession]
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


async def coupon(sessions: Sessions, **terms: Any) -> str:
    code = terms.pop("code", f"SAVE{uuid.uuid4().hex[:8]}")
    data = CouponIn.model_validate({"code": code, "kind": "percentage", "value": "10", **terms})
    async with transaction(sessions) as session:
        await service.create_coupon(session, data)
    return code


def line(amount: str, category: str = "home/lighting", brand: str = "acme") -> BasketLine:
    return BasketLine(
        product_id=uuid.uuid4(), category_path=category, brand=brand, amount=Decimal(amount)
    )


def basket(*lines: BasketLine, currency: str = "USD", customer: uuid.UUID | None = None) -> Basket:
    return Basket(currency=currency, lines=list(lines or [line("100.00")]), customer_id=customer)


async def quote(sessions: Sessions, code: str, cart: Basket, now: datetime = NOW) -> Discount:
    async with sessions() as session:
        return await service.quote(session, code, cart, now=now)


async def redeem(sessions: Sessions, code: str, cart: Basket, now: datetime = NOW) -> Discount:
    async with transaction(sessions) as session:
        return await service.redeem(session, code, cart, order_id=uuid.uuid4(), now=now)


async def rejected(sessions: Sessions, code: str, cart: Basket, now: datetime = NOW) -> str:
    with pytest.raises(CouponRejected) as caught:
        await quote(sessions, code, cart, now)
    return caught.value.rule


async def customer(sessions: Sessions) -> uuid.UUID:
    async with transaction(sessions) as session:
        user = await create_user(
            session, f"c{uuid.uuid4().hex[:10]}@example.com", PASSWORD, role="CUSTOMER"
        )
    return user.id


async def test_percentage_and_fixed_amounts(sessions: Sessions) -> None:
    ten_percent = await coupon(sessions, value="12.5")
    five_off = await coupon(sessions, kind="fixed", value="5", currency="USD")

    assert (await quote(sessions, ten_percent, basket(line("19.99")))).amount == Decimal("2.50")
    assert (await quote(sessions, five_off, basket(line("19.99")))).amount == Decimal("5.00")
    # A fixed amount never takes off more than the lines it applies to.
    assert (await quote(sessions, five_off, basket(line("3.00")))).amount == Decimal("3.00")


async def test_percentages_round_to_the_currency_s_minor_unit(sessions: Sessions) -> None:
    code = await coupon(sessions, value="15")

    yen = await quote(sessions, code, basket(line("999"), currency="JPY"))

    assert yen.amount == Decimal("150") and yen.currency == "JPY"


async def test_codes_ignore_case_and_surrounding_space(sessions: Sessions) -> None:
    code = await coupon(sessions, code=f"Summer{uuid.uuid4().hex[:6]}")

    assert (await quote(sessions, f"  {code.upper()} ", basket())).code == code
    assert (await quote(sessions, code.lower(), basket())).amount == Decimal("10.00")
    with pytest.raises(CodeTaken):
        await coupon(sessions, code=code.swapcase())


async def test_an_unknown_code_names_the_rule(sessions: Sessions) -> None:
    assert await rejected(sessions, "NOSUCHCODE", basket()) == "unknown"


async def test_dates_bound_the_validity(sessions: Sessions) -> None:
    code = await coupon(
        sessions, valid_from=NOW - timedelta(days=1), valid_to=NOW + timedelta(days=1)
    )

    assert await rejected(sessions, code, basket(), NOW - timedelta(days=2)) == "not_started"
    assert (await quote(sessions, code, basket(), NOW - timedelta(days=1))).amount > 0
    assert await rejected(sessions, code, basket(), NOW + timedelta(days=1)) == "expired"


async def test_the_minimum_subtotal_is_in_the_coupon_s_currency(sessions: Sessions) -> None:
    code = await coupon(sessions, min_subtotal="50", currency="EUR")

    assert await rejected(sessions, code, basket(line("49.99"), currency="EUR")) == (
        "minimum_subtotal"
    )
    assert (await quote(sessions, code, basket(line("30"), line("20"), currency="EUR"))).amount == (
        Decimal("5.00")
    )
    assert await rejected(sessions, code, basket(line("500"), currency="USD")) == "currency"


async def test_the_total_limit_counts_every_use(sessions: Sessions) -> None:
    code = await coupon(sessions, usage_limit=2)

    await redeem(sessions, code, basket())
    await redeem(sessions, code, basket())

    assert await rejected(sessions, code, basket()) == "usage_limit"


async def test_the_per_customer_limit_counts_that_customer_s_uses(sessions: Sessions) -> None:
    code = await coupon(sessions, per_customer_limit=1)
    alice, bob = await customer(sessions), await customer(sessions)

    await redeem(sessions, code, basket(customer=alice))

    assert await rejected(sessions, code, basket(customer=alice)) == "per_customer_limit"
    assert (await quote(sessions, code, basket(customer=bob))).amount > 0
    assert await rejected(sessions, code, basket()) == "per_customer_limit"  # a guest


async def test_restrictions_discount_only_the_lines_they_cover(sessions: Sessions) -> None:
    home = await coupon(sessions, categories=["home"])
    acme_lamps = await coupon(sessions, categories=["lighting"], brands=["acme"])
    lamp, other_lamp = line("40", "home/lighting"), line("60", "home/lighting", brand="globex")
    shoe = line("80", "fashion/shoes")

    # A category covers its subtree.
    assert (await quote(sessions, home, basket(lamp, shoe))).eligible_subtotal == Decimal("40")
    # Both kinds of restriction must hold for a line.
    discount = await quote(sessions, acme_lamps, basket(lamp, other_lamp, shoe))
    assert (discount.eligible_subtotal, discount.amount) == (Decimal("40"), Decimal("4.00"))
    assert await rejected(sessions, home, basket(shoe)) == "restrictions"


async def test_terms_that_contradict_each_other_are_refused(sessions: Sessions) -> None:
    for terms in (
        {"kind": "fixed", "value": "5"},  # no currency
        {"value": "101"},
        {"min_subtotal": "10"},  # no currency
        {"valid_from": NOW, "valid_to": NOW},
    ):
        with pytest.raises(ValueError):
            CouponIn.model_validate({"code": "TERMS01", "kind": "percentage", **terms})
    with pytest.raises(InvalidTerms):
        await coupon(sessions, categories=["no-such-category"])


async def test_a_change_is_checked_against_the_coupon_s_other_terms(sessions: Sessions) -> None:
    code = await coupon(sessions, kind="fixed", value="5", currency="USD")
    async with sessions() as session:
        coupon_id = (await service.quote(session, code, basket(), now=NOW)).coupon_id

    with pytest.raises(InvalidTerms):
        async with transaction(sessions) as session:
            await service.update_coupon(session, coupon_id, CouponPatch(currency=None))
    async with transaction(sessions) as session:
        changed = await service.update_coupon(session, coupon_id, CouponPatch(value=Decimal(7)))

    assert changed.value == Decimal(7) and changed.currency == "USD"


async def test_an_archived_code_stops_applying_and_is_free_again(sessions: Sessions) -> None:
    code = await coupon(sessions)
    async with sessions() as session:
        coupon_id = (await service.quote(session, code, basket(), now=NOW)).coupon_id
    async with transaction(sessions) as session:
        await service.archive_coupon(session, coupon_id)

    assert await rejected(sessions, code, basket()) == "unknown"
    await coupon(sessions, code=code, value="20")
    assert (await quote(sessions, code, basket())).amount == Decimal("20.00")


async def test_fifty_checkouts_racing_for_the_last_use_exactly_one_gets_it(
    sessions: Sessions,
) -> None:
    code = await coupon(sessions, usage_limit=3)
    await redeem(sessions, code, basket())
    await redeem(sessions, code, basket())

    async def attempt() -> str:
        try:
            await redeem(sessions, code, basket())
        except CouponRejected as error:
            return error.rule
        return "redeemed"

    outcomes = await asyncio.gather(*(attempt() for _ in range(50)))

    assert sorted(set(outcomes)) == ["redeemed", "usage_limit"]
    assert outcomes.count("redeemed") == 1
    async with sessions() as session:
        used = await session.scalar(select(Coupon.times_used).where(Coupon.code == code))
        uses = await session.scalar(
            select(func.count())
            .select_from(CouponRedemption)
            .join(Coupon)
            .where(Coupon.code == code)
        )
    assert used == uses == 3


async def test_one_customer_racing_themselves_gets_one_use(sessions: Sessions) -> None:
    code = await coupon(sessions, per_customer_limit=1)
    alice = await customer(sessions)

    async def attempt() -> bool:
        try:
            await redeem(sessions, code, basket(customer=alice))
        except CouponRejected:
            return False
        return True

    outcomes = await asyncio.gather(*(attempt() for _ in range(20)))

    assert outcomes.count(True) == 1
    async with sessions() as session:
        uses = await session.scalar(
            select(func.count()).where(CouponRedemption.customer_id == alice)
        )
    assert uses == 1


async def test_a_released_order_gives_its_use_back(sessions: Sessions) -> None:
    code = await coupon(sessions, usage_limit=1)
    order_id = uuid.uuid4()
    async with transaction(sessions) as session:
        await service.redeem(session, code, basket(), order_id=order_id, now=NOW)
    assert await rejected(sessions, code, basket()) == "usage_limit"

    async with transaction(sessions) as session:
        assert await service.release(session, order_id)
        assert not await service.release(session, order_id)

    assert (await quote(sessions, code, basket())).amount > 0
