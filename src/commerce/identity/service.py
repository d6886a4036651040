"""People's accounts: the password policy, creating users (announced as user.registered),
registering, and users as administrators see them (listing, role assignment, disabling).

Beside this file, identity's other use cases each have a module of their own: `sessions`
(sign-in and tokens), `recovery` (passwords forgotten or changed), `roles`."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from commerce.db import flush_unique
from commerce.events import UserRegistered
from commerce.identity import passwords
from commerce.identity.context import IdentityContext, Principal
from commerce.identity.errors import (
    EmailTaken,
    Forbidden,
    LastRoleManager,
    Outranked,
    RoleNotFound,
    UserNotFound,
    WeakPassword,
)
from commerce.identity.models import User
from commerce.identity.permissions import CUSTOMER, Permission
from commerce.identity.repository import IdentityRepository
from commerce.identity.schemas import (
    MIN_PASSWORD,
    Registration,
    TokenPair,
    UserOut,
)
from commerce.identity.sessions import end_all, issue
from commerce.identity.views import user_out
from commerce.outbox import add_event

COMMON_PASSWORDS = frozenset(
    {
        "password",
        "password1",
        "password123",
        "123456789",
        "1234567890",
        "qwertyuiop",
        "iloveyou12",
        "letmein123",
        "welcome123",
        "admin12345",
        "changeme12",
        "passw0rd12",
    }
)
MANAGE_ROLES = Permission.MANAGE_ROLES.value


def check_password_policy(password: str, email: str) -> None:
    """NIST 800-63B style: length and a deny-list, no composition rules."""
    local = email.split("@", 1)[0].lower()
    if len(password) < MIN_PASSWORD:
        raise WeakPassword(f"The password needs at least {MIN_PASSWORD} characters.")
    if password.lower() in COMMON_PASSWORDS or len(set(password)) < 4:
        raise WeakPassword("This password is too common or too repetitive.")
    if len(local) >= 4 and local in password.lower():
        raise WeakPassword("The password must not contain the email address.")


async def create_user(
    session: AsyncSession,
    email: str,
    password: str,
    *,
    role: str,
    first_name: str = "Super",
    last_name: str = "Admin",
    phone: str | None = None,
) -> User:
    """An account with a given role, announced as user.registered; the password policy applies."""
    email = email.lower()
    check_password_policy(password, email)
    repo = IdentityRepository(session)
    if await repo.user_by_email(email) is not None:
        raise EmailTaken()
    held = await repo.role(role)
    if held is None:
        raise RoleNotFound(role)
    now = datetime.now(UTC)
    user = User(
        id=uuid.uuid4(),
        email=email,
        password_hash=await passwords.hash_in_thread(password),
        first_name=first_name,
        last_name=last_name,
        phone=phone,
        role=held,
        active=True,
        created_at=now,
        updated_at=now,
    )
    session.add(user)
    await flush_unique(session, {"uq_users_email": EmailTaken()})
    event = UserRegistered(
        user_id=user.id, email=email, first_name=first_name, last_name=last_name, role=held.name
    )
    add_event(session, "user.registered", user.id, 1, event)
    return user


async def register(session: AsyncSession, ctx: IdentityContext, data: Registration) -> TokenPair:
    """Create a CUSTOMER account, announce user.registered, and sign the user in."""
    user = await create_user(
        session,
        str(data.email),
        data.password,
        role=CUSTOMER,
        first_name=data.first_name,
        last_name=data.last_name,
        phone=data.phone,
    )
    return await issue(session, ctx, user)


async def me(session: AsyncSession, principal: Principal) -> UserOut:
    user = await IdentityRepository(session).user(principal.user_id)
    if user is None:
        raise UserNotFound(principal.user_id)
    return user_out(user)


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
