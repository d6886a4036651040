"""Reads of payments: an order's payments, oldest first."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from commerce.payments.models import Payment


class PaymentRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def for_order(self, order_id: uuid.UUID, *, for_update: bool = False) -> list[Payment]:
        query = select(Payment).where(Payment.order_id == order_id).order_by(Payment.created_at)
        if for_update:
            query = query.with_for_update()
        return list(await self.session.scalars(query))
