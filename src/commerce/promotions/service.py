"""Coupon use cases: staff manage codes; checkout quotes and redeems them.

Redemption locks the coupon's row, so concurrent checkouts of one code queue on it and the
limits are checked against uses already committed: the last use goes to exactly one.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from commerce.db import flush_unique
from commerce.pages import Page
from commerce.promotions.errors import CodeTaken, CouponNotFound, CouponRejected, InvalidTerms
from commerce.promotions.models import Coupon, CouponRedemption
from commerce.promotions.repository import PromotionsRepository
from commerce.promotions.rules import discount_for
from commerce.promotions.schemas import (
    Basket,
    CouponIn,
    CouponOut,
    CouponPatch,
    Discount,
    check_terms,
)

CODE_CONFLICTS = "uq_coupons_live_code"


async def create_coupon(session: AsyncSession, data: CouponIn) -> CouponOut:
    repo = PromotionsRepository(session)
    await _check_scope(repo, data.categories, data.brands)
    if await repo.by_code(data.code) is not None:
        raise CodeTaken(data.code)
    coupon = Coupon(**data.model_dump())
    session.add(coupon)
    await flush_unique(session, {CODE_CONFLICTS: CodeTaken(data.code)})
    await session.refresh(coupon)
    return CouponOut.model_validate(coupon)


async def list_coupons(session: AsyncSession, *, page: int, size: int) -> Page[CouponOut]:
    coupons, total = await PromotionsRepository(session).page(offset=(page - 1) * size, limit=size)
    return Page[CouponOut](
        items=[CouponOut.model_validate(c) for c in coupons], total=total, page=page, size=size
    )


async def show_coupon(session: AsyncSession, coupon_id: uuid.UUID) -> CouponOut:
    return CouponOut.model_validate(await _coupon(PromotionsRepository(session), coupon_id))


async def update_coupon(
    session: AsyncSession, coupon_id: uuid.UUID, patch: CouponPatch
) -> CouponOut:
    repo = PromotionsRepository(session)
    coupon = await _coupon(repo, coupon_id, for_update=True)
    changes = patch.model_dump(exclude_unset=True)
    if changes.get("value") is None:
        changes.pop("value", None)
    await _check_scope(repo, changes.get("categories", []), changes.get("brands", []))
    terms = {**CouponOut.model_validate(coupon).model_dump(), **changes}
    try:
        check_terms(coupon.kind, terms["value"], terms)
    except ValueError as error:
        raise InvalidTerms(str(error)) from error
    for name, value in changes.items():
        setattr(coupon, name, value)
    coupon.updated_at = datetime.now(UTC)
    await session.flush()
    await session.refresh(coupon)
    return CouponOut.model_validate(coupon)


async def archive_coupon(session: AsyncSession, coupon_id: uuid.UUID) -> None:
    """Stop a code from applying; its uses stay on record and its code is free again."""
    coupon = await _coupon(PromotionsRepository(session), coupon_id, for_update=True)
    coupon.archived_at = datetime.now(UTC)
    await session.flush()


async def quote(
    session: AsyncSession, code: str, basket: Basket, *, now: datetime | None = None
) -> Discount:
    """What `code` takes off `basket` now, or the rule it fails (422); nothing is used up."""
    repo = PromotionsRepository(session)
    coupon = await _by_code(repo, code)
    uses = await repo.customer_uses(coupon.id, basket.customer_id)
    return discount_for(coupon, basket, customer_uses=uses, now=now or datetime.now(UTC))


async def redeem(
    session: AsyncSession,
    code: str,
    basket: Basket,
    *,
    order_id: uuid.UUID | None = None,
    now: datetime | None = None,
) -> Discount:
    """Use `code` for an order, in the caller's transaction: checked and counted atomically."""
    repo = PromotionsRepository(session)
    coupon = await _by_code(repo, code, for_update=True)
    uses = await repo.customer_uses(coupon.id, basket.customer_id)
    discount = discount_for(coupon, basket, customer_uses=uses, now=now or datetime.now(UTC))
    coupon.times_used += 1
    session.add(
        CouponRedemption(
            coupon_id=coupon.id,
            customer_id=basket.customer_id,
            order_id=order_id,
            discount=discount.amount,
            currency=discount.currency,
        )
    )
    await session.flush()
    return discount


async def release(session: AsyncSession, order_id: uuid.UUID) -> bool:
    """Give back the use an order made (it failed or was cancelled); False if it made none."""
    repo = PromotionsRepository(session)
    redemption = await repo.take_redemption(order_id)
    if redemption is None:
        return False
    await repo.count_back(redemption.coupon_id)
    return True


async def _coupon(
    repo: PromotionsRepository, coupon_id: uuid.UUID, *, for_update: bool = False
) -> Coupon:
    coupon = await repo.get(coupon_id, for_update=for_update)
    if coupon is None:
        raise CouponNotFound(coupon_id)
    return coupon


async def _by_code(repo: PromotionsRepository, code: str, *, for_update: bool = False) -> Coupon:
    coupon = await repo.by_code(code, for_update=for_update)
    if coupon is None:
        raise CouponRejected("unknown", f"There is no coupon {code.strip()!r}.")
    return coupon


async def _check_scope(
    repo: PromotionsRepository, categories: list[str], brands: list[str]
) -> None:
    if categories and (missing := await repo.missing_categories(categories)):
        raise InvalidTerms(f"No category {', '.join(missing)}; see GET /api/categories.")
    if brands and (missing := await repo.missing_brands(brands)):
        raise InvalidTerms(f"No brand {', '.join(missing)}; see GET /api/brands.")


async def grant_personal_code(
    session: AsyncSession, owner_id: uuid.UUID, percent: Decimal, valid_to: datetime, prefix: str
) -> Coupon:
    """A single-use percentage code only `owner_id` may use, until `valid_to` (a reward)."""
    coupon = Coupon(
        code=f"{prefix}-{secrets.token_hex(5).upper()}",
        kind="percentage",
        value=percent,
        valid_to=valid_to,
        usage_limit=1,
        per_customer_limit=1,
        owner_id=owner_id,
    )
    session.add(coupon)
    await session.flush()
    return coupon


async def withdraw_unused(session: AsyncSession, coupon_id: uuid.UUID) -> bool:
    """Archive a granted code unless it was used; True when it was withdrawn."""
    coupon = await PromotionsRepository(session).get(coupon_id, for_update=True)
    if coupon is None or coupon.times_used > 0 or coupon.archived_at is not None:
        return False
    coupon.archived_at = datetime.now(UTC)
    return True
