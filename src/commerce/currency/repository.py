"""Every query of currency: the exchange rates fetched, per day."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from commerce.currency.models import ExchangeRate


class RateRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def newest(self) -> tuple[date, list[ExchangeRate]] | None:
        """The newest day fetched and its rates; None before the first fetch."""
        newest = await self.session.scalar(select(func.max(ExchangeRate.rate_date)))
        if newest is None:
            return None
        query = select(ExchangeRate).where(ExchangeRate.rate_date == newest)
        return newest, list(await self.session.scalars(query))

    async def keep(self, rows: Sequence[dict[str, Any]]) -> None:
        """Store a day's rates, replacing what was kept for that day."""
        statement = insert(ExchangeRate).values(list(rows))
        await self.session.execute(
            statement.on_conflict_do_update(
                index_elements=["rate_date", "currency"],
                set_={"per_usd": statement.excluded.per_usd, "source": statement.excluded.source},
            )
        )
