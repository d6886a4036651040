"""The unit of work: one transaction that a use case's repositories share.

It commits when the block ends and rolls back when it raises; nothing inside commits on
its own. The worker hands one to each saga step together with the event, and records the
event as processed in it, so the step's rows and that record commit (or vanish) together.
"""

from __future__ import annotations

from types import TracebackType
from typing import Self

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from commerce.catalog.repository import CatalogRepository
from commerce.identity.repository import IdentityRepository
from commerce.inventory.repository import InventoryRepository


class UnitOfWork:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def __aenter__(self) -> Self:
        self.session = self._sessions()
        await self.session.begin()
        self.catalog = CatalogRepository(self.session)
        self.inventory = InventoryRepository(self.session)
        self.identity = IdentityRepository(self.session)
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        try:
            if error is None:
                await self.session.commit()
            else:
                await self.session.rollback()
        finally:
            await self.session.close()
