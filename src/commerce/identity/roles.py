"""Roles: SUPER_ADMIN creates and changes them; each change is announced so caches follow."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from commerce.db import flush_unique
from commerce.events import RoleChanged
from commerce.identity.errors import (
    LastRoleManager,
    RoleExists,
    RoleInUse,
    RoleNotFound,
    SystemRole,
)
from commerce.identity.models import Role
from commerce.identity.permissions import SUPER_ADMIN, Permission
from commerce.identity.repository import IdentityRepository
from commerce.identity.schemas import (
    RoleIn,
    RoleOut,
    RolePatch,
)
from commerce.identity.views import role_out
from commerce.outbox import add_event


def _announce(session: AsyncSession, role: Role, event_type: str) -> None:
    add_event(
        session,
        event_type,
        role.name,
        role.version,
        RoleChanged(
            name=role.name,
            permissions=sorted(role.permissions),
            version=role.version,
        ),
    )


async def list_roles(session: AsyncSession) -> list[RoleOut]:
    return [role_out(r) for r in await IdentityRepository(session).roles()]


async def create_role(session: AsyncSession, data: RoleIn) -> RoleOut:
    """A new role with a set of permissions; announced as role.created."""
    repo = IdentityRepository(session)
    if await repo.role(data.name) is not None:
        raise RoleExists(data.name)
    role = Role(
        name=data.name,
        description=data.description,
        permissions=sorted(set(data.permissions)),
        system=False,
        version=1,
    )
    session.add(role)
    await flush_unique(session, {"uq_roles_name": RoleExists(data.name)})
    _announce(session, role, "role.created")
    return role_out(role)


async def update_role(session: AsyncSession, name: str, patch: RolePatch) -> RoleOut:
    """Change a role; role.updated drops its cached permissions everywhere."""
    repo = IdentityRepository(session)
    role = await repo.role(name, for_update=True)
    if role is None:
        raise RoleNotFound(name)
    if patch.description is not None:
        role.description = patch.description
    if patch.permissions is not None:
        if name == SUPER_ADMIN and set(patch.permissions) != set(Permission):
            raise SystemRole(name, "given fewer permissions")
        if Permission.MANAGE_ROLES in role.permissions and (
            Permission.MANAGE_ROLES not in patch.permissions
        ):
            await repo.lock_role_managers()
            if not await repo.active_holders(Permission.MANAGE_ROLES, besides_role=role.id):
                raise LastRoleManager()
        role.permissions = sorted(set(patch.permissions))
        role.version += 1
    role.updated_at = datetime.now(UTC)
    await session.flush()
    _announce(session, role, "role.updated")
    return role_out(role)


async def delete_role(session: AsyncSession, name: str) -> None:
    repo = IdentityRepository(session)
    role = await repo.role(name, for_update=True)
    if role is None:
        raise RoleNotFound(name)
    if role.system:
        raise SystemRole(name, "deleted")
    if holders := await repo.holders(role.id):
        raise RoleInUse(name, holders)
    role.version += 1
    _announce(session, role, "role.deleted")
    await session.delete(role)
