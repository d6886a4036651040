"""Every query of merchandising: synonym groups and search rules, oldest first."""

from __future__ import annotations

import uuid

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from commerce.merchandising.models import SearchRule, SearchSynonym


class MerchandisingRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def synonyms(self) -> list[SearchSynonym]:
        query = select(SearchSynonym).order_by(SearchSynonym.created_at)
        return list(await self.session.scalars(query))

    async def rules(self) -> list[SearchRule]:
        return list(await self.session.scalars(select(SearchRule).order_by(SearchRule.created_at)))

    async def remove_synonym(self, synonym_id: uuid.UUID) -> bool:
        """False if there was no such group."""
        removed = await self.session.scalar(
            delete(SearchSynonym).where(SearchSynonym.id == synonym_id).returning(SearchSynonym.id)
        )
        return removed is not None

    async def remove_rule(self, rule_id: uuid.UUID) -> bool:
        """False if there was no such rule."""
        removed = await self.session.scalar(
            delete(SearchRule).where(SearchRule.id == rule_id).returning(SearchRule.id)
        )
        return removed is not None
