"""Every identity query."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from commerce.identity.models import PasswordReset, RefreshToken, Role, User

#: pg_advisory_xact_lock key of role-manager changes ("ROLE" in ASCII): below 2**62, the
#: outbox's writer pins (commerce.outbox.SETTLED_SEQ).
ROLE_MANAGERS_LOCK = 0x524F4C45


class IdentityRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def user_by_email(self, email: str) -> User | None:
        query = select(User).options(selectinload(User.role)).where(User.email == email)
        return await self.session.scalar(query)

    async def user(self, user_id: uuid.UUID, *, for_update: bool = False) -> User | None:
        query = select(User).options(selectinload(User.role)).where(User.id == user_id)
        if for_update:
            query = query.with_for_update(of=User)
        return await self.session.scalar(query)

    async def users(self, offset: int, limit: int) -> tuple[list[User], int]:
        total = await self.session.scalar(select(func.count()).select_from(User))
        query = (
            select(User)
            .options(selectinload(User.role))
            .order_by(User.created_at.desc(), User.id)
            .offset(offset)
            .limit(limit)
        )
        return list(await self.session.scalars(query)), int(total or 0)

    async def role(self, name: str, *, for_update: bool = False) -> Role | None:
        query = select(Role).where(Role.name == name)
        if for_update:
            query = query.with_for_update()
        return await self.session.scalar(query)

    async def roles(self) -> list[Role]:
        return list(await self.session.scalars(select(Role).order_by(Role.name)))

    async def holders(self, role_id: int) -> int:
        count = await self.session.scalar(
            select(func.count()).select_from(User).where(User.role_id == role_id)
        )
        return int(count or 0)

    async def lock_role_managers(self) -> None:
        """Serialise changes that could take MANAGE_ROLES from its last active holder (two
        admins disabling each other at once), until the transaction ends."""
        await self.session.execute(select(func.pg_advisory_xact_lock(ROLE_MANAGERS_LOCK)))

    async def active_holders(
        self,
        permission: str,
        *,
        besides_user: uuid.UUID | None = None,
        besides_role: int | None = None,
    ) -> int:
        """Active users whose role holds `permission`, leaving out a user or a role."""
        query = (
            select(func.count())
            .select_from(User)
            .join(Role, User.role_id == Role.id)
            .where(User.active, Role.permissions.contains([permission]))
        )
        if besides_user is not None:
            query = query.where(User.id != besides_user)
        if besides_role is not None:
            query = query.where(Role.id != besides_role)
        return int(await self.session.scalar(query) or 0)

    async def refresh_token(self, token_hash: str) -> RefreshToken | None:
        query = select(RefreshToken).where(RefreshToken.token_hash == token_hash).with_for_update()
        return await self.session.scalar(query)

    async def revoke_family(self, family_id: uuid.UUID, now: datetime) -> None:
        await self.session.execute(
            update(RefreshToken)
            .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
            .values(revoked_at=now)
        )

    async def revoke_session_tokens(self, session_ids: list[str], now: datetime) -> None:
        await self.session.execute(
            update(RefreshToken)
            .where(RefreshToken.session_id.in_(session_ids), RefreshToken.revoked_at.is_(None))
            .values(revoked_at=now)
        )

    async def latest_reset_at(self, user_id: uuid.UUID) -> datetime | None:
        """When the user last asked for a reset link."""
        query = select(func.max(PasswordReset.created_at)).where(PasswordReset.user_id == user_id)
        return await self.session.scalar(query)

    async def reset(self, token_hash: str) -> PasswordReset | None:
        return await self.session.get(PasswordReset, token_hash, with_for_update=True)

    async def spend_resets(self, user_id: uuid.UUID, now: datetime) -> None:
        """Every unused reset link of the user stops working."""
        await self.session.execute(
            update(PasswordReset)
            .where(PasswordReset.user_id == user_id, PasswordReset.used_at.is_(None))
            .values(used_at=now)
        )
