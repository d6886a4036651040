from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from commerce.catalog.models import Brand, Category
from commerce.promotions.models import Coupon, CouponRedemption


class PromotionsRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, coupon_id: uuid.UUID, *, for_update: bool = False) -> Coupon | None:
        query = select(Coupon).where(Coupon.id == coupon_id, Coupon.archived_at.is_(None))
        return await self.session.scalar(query.with_for_update() if for_update else query)

    async def by_code(self, code: str, *, for_update: bool = False) -> Coupon | None:
        query = select(Coupon).where(
            func.lower(Coupon.code) == code.strip().lower(), Coupon.archived_at.is_(None)
        )
        return await self.session.scalar(query.with_for_update() if for_update else query)

    async def page(self, *, offset: int, limit: int) -> tuple[list[Coupon], int]:
        live = Coupon.archived_at.is_(None)
        total = await self.session.scalar(select(func.count()).where(live)) or 0
        rows = await self.session.scalars(
            select(Coupon)
            .where(live)
            .order_by(Coupon.created_at.desc(), Coupon.id)
            .offset(offset)
            .limit(limit)
        )
        return list(rows), total

    async def customer_uses(self, coupon_id: uuid.UUID, customer_id: uuid.UUID | None) -> int:
        if customer_id is None:
            return 0
        return (
            await self.session.scalar(
                select(func.count()).where(
                    CouponRedemption.coupon_id == coupon_id,
                    CouponRedemption.customer_id == customer_id,
                )
            )
            or 0
        )

    async def take_redemption(self, order_id: uuid.UUID) -> CouponRedemption | None:
        """Remove and return the redemption made for an order, if any."""
        return await self.session.scalar(
            delete(CouponRedemption)
            .where(CouponRedemption.order_id == order_id)
            .returning(CouponRedemption)
        )

    async def missing_categories(self, slugs: Sequence[str]) -> list[str]:
        found = await self.session.scalars(select(Category.slug).where(Category.slug.in_(slugs)))
        return sorted(set(slugs) - set(found))

    async def missing_brands(self, slugs: Sequence[str]) -> list[str]:
        found = await self.session.scalars(select(Brand.slug).where(Brand.slug.in_(slugs)))
        return sorted(set(slugs) - set(found))

    async def count_back(self, coupon_id: uuid.UUID) -> None:
        await self.session.execute(
            update(Coupon)
            .where(Coupon.id == coupon_id)
            .values(times_used=func.greatest(Coupon.times_used - 1, 0))
        )
