"""Users as administrators see them: listing, role assignment, disabling accounts."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from commerce.identity.context import IdentityContext, Principal
from commerce.identity.errors import (
    Forbidden,
    LastRoleManager,
    Outranked,
    RoleNotFound,
    UserNotFound,
)
from commerce.identity.permissions import Permission
from commerce.identity.repository import IdentityRepository
from commerce.identity.schemas import UserOut
from commerce.identity.sessions import end_all
from commerce.identity.views import user_out

MANAGE_ROLES = Permission.MANAGE_ROLES.value


async def list_users(session: AsyncSession, page: int, size: int) -> tuple[list[UserOut], int]:
    users, total = await IdentityRepository(session).users((page - 1) * size, size)
    return [user_out(u) for u in users], total


async def assign_role(
    session: AsyncSession,
    ctx: IdentityContext,
    user_id: uuid.UUID,
    role_name: str,
    by: Principal,
) -> UserOut:
    """Give a user another role; their sessions end so the change applies at once."""
    repo = IdentityRepository(session)
    user = await repo.user(user_id, for_update=True)
    if user is None:
        raise UserNotFound(user_id)
    role = await repo.role(role_name)
    if role is None:
        raise RoleNotFound(role_name)
    if role.name == user.role.name:
        return user_out(user)  # nothing changes: nobody is signed out for it
    if user.id == by.user_id:
        raise Forbidden("You cannot change your own role.")
    _may_act_on(by, user.role.permissions)
    _may_act_on(by, role.permissions)  # nobody hands out more than they hold
    if MANAGE_ROLES in user.role.permissions and MANAGE_ROLES not in role.permissions:
        await _keep_a_role_manager(repo, losing=user.id)
    user.role = role
    user.updated_at = datetime.now(UTC)
    await session.flush()
    await end_all(session, ctx, user.id)
    return user_out(user)


async def set_active(
    session: AsyncSession, ctx: IdentityContext, user_id: uuid.UUID, active: bool, by: Principal
) -> UserOut:
    """Enable or disable an account; disabling ends its sessions at once."""
    repo = IdentityRepository(session)
    user = await repo.user(user_id, for_update=True)
    if user is None:
        raise UserNotFound(user_id)
    if user.id == by.user_id and not active:
        raise Forbidden("You cannot disable your own account.")
    _may_act_on(by, user.role.permissions)
    if not active and MANAGE_ROLES in user.role.permissions:
        await _keep_a_role_manager(repo, losing=user.id)
    user.active = active
    user.updated_at = datetime.now(UTC)
    await session.flush()
    if not active:
        await end_all(session, ctx, user.id)
    return user_out(user)


def _may_act_on(by: Principal, permissions: Iterable[str]) -> None:
    """An admin acts only on accounts (and hands out roles) within their own permissions:
    an ADMIN cannot disable a SUPER_ADMIN."""
    if missing := set(permissions) - by.permissions:
        raise Outranked(missing)


async def _keep_a_role_manager(repo: IdentityRepository, losing: uuid.UUID) -> None:
    """Refuse when `losing` is the last active user who may manage roles."""
    await repo.lock_role_managers()
    if not await repo.active_holders(MANAGE_ROLES, besides_user=losing):
        raise LastRoleManager()
