"""Identity use cases: accounts, logins, token rotation, sessions, roles.

Services never commit; the caller's unit of work does. Redis state (sessions, limits,
caches) lives in the adapters of `IdentityContext`.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from commerce.db import flush_unique
from commerce.events import RoleChanged, UserRegistered
from commerce.identity import passwords
from commerce.identity.errors import (
    EmailTaken,
    Forbidden,
    InvalidCredentials,
    RoleExists,
    RoleInUse,
    RoleNotFound,
    SystemRole,
    Unauthenticated,
    UserNotFound,
    WeakPassword,
)
from commerce.identity.models import RefreshToken, Role, User
from commerce.identity.permissions import CUSTOMER, SUPER_ADMIN, Permission
from commerce.identity.repository import IdentityRepository
from commerce.identity.schemas import (
    MIN_PASSWORD,
    Registration,
    RoleIn,
    RoleOut,
    RolePatch,
    TokenPair,
    UserOut,
)
from commerce.identity.store import IdentityCache, LoginLimiter, SessionStore
from commerce.identity.tokens import (
    AccessClaims,
    TokenIssuer,
    new_refresh_token,
    new_session_id,
    token_hash,
)
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


@dataclass(frozen=True)
class IdentityContext:
    tokens: TokenIssuer
    sessions: SessionStore
    limiter: LoginLimiter
    cache: IdentityCache


@dataclass(frozen=True)
class Principal:
    """Who is calling, with the permissions their role holds right now."""

    user_id: uuid.UUID
    session_id: str
    role: str
    permissions: frozenset[str]

    def require(self, permission: Permission) -> None:
        if permission not in self.permissions:
            raise Forbidden(f"This needs the {permission} permission.")


def check_password_policy(password: str, email: str) -> None:
    """NIST 800-63B style: length and a deny-list, no composition rules."""
    local = email.split("@", 1)[0].lower()
    if len(password) < MIN_PASSWORD:
        raise WeakPassword(f"The password needs at least {MIN_PASSWORD} characters.")
    if password.lower() in COMMON_PASSWORDS or len(set(password)) < 4:
        raise WeakPassword("This password is too common or too repetitive.")
    if len(local) >= 4 and local in password.lower():
        raise WeakPassword("The password must not contain the email address.")


def user_out(user: User) -> UserOut:
    return UserOut(
        id=user.id,
        email=user.email,
        first_name=user.first_name,
        last_name=user.last_name,
        phone=user.phone,
        role=user.role.name,
        permissions=sorted(Permission(p) for p in user.role.permissions),
        active=user.active,
        created_at=user.created_at,
        last_login_at=user.last_login_at,
    )


def role_out(role: Role) -> RoleOut:
    return RoleOut(
        name=role.name,
        description=role.description,
        system=role.system,
        version=role.version,
        permissions=sorted(Permission(p) for p in role.permissions),
    )


async def _hash(password: str) -> str:
    return await asyncio.to_thread(passwords.hash_password, password)


async def _issue(session: AsyncSession, ctx: IdentityContext, user: User) -> TokenPair:
    """Open a session and hand out its first access and refresh tokens."""
    session_id = new_session_id()
    await ctx.sessions.open(session_id, str(user.id))
    refresh = _new_refresh(session, ctx, user.id, session_id, family_id=uuid.uuid4())
    return _pair(ctx, user, session_id, refresh)


def _new_refresh(
    session: AsyncSession,
    ctx: IdentityContext,
    user_id: uuid.UUID,
    session_id: str,
    family_id: uuid.UUID,
) -> str:
    token = new_refresh_token()
    session.add(
        RefreshToken(
            token_hash=token_hash(token),
            family_id=family_id,
            session_id=session_id,
            user_id=user_id,
            expires_at=datetime.now(UTC) + ctx.tokens.refresh_ttl,
        )
    )
    return token


def _pair(ctx: IdentityContext, user: User, session_id: str, refresh: str) -> TokenPair:
    claims = AccessClaims(user.id, session_id, user.role.name, user.role.version)
    return TokenPair(
        access_token=ctx.tokens.access_token(claims),
        refresh_token=refresh,
        expires_in=int(ctx.tokens.access_ttl.total_seconds()),
        user=user_out(user),
    )


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
    return await _issue(session, ctx, user)


async def login(
    session: AsyncSession, ctx: IdentityContext, email: str, password: str, address: str
) -> TokenPair:
    """Check credentials under the rate limit; rehash legacy hashes; open a session."""
    email = email.lower()
    await ctx.limiter.reserve(email, address)
    # Read from PostgreSQL each time: password hashes are never cached.
    user = await IdentityRepository(session).user_by_email(email)
    stored_hash = user.password_hash if user else passwords.DUMMY_HASH
    if not await asyncio.to_thread(passwords.verify_password, stored_hash, password) or not user:
        raise InvalidCredentials()
    if not user.active:
        raise Forbidden("This account is disabled.")
    await ctx.limiter.succeeded(email, address)
    if passwords.needs_rehash(user.password_hash):
        user.password_hash = await _hash(password)
    user.last_login_at = datetime.now(UTC)
    return await _issue(session, ctx, user)


@dataclass(frozen=True)
class RefreshRejected:
    """A refused refresh; when `reuse` is set the family was revoked and must be committed."""

    reason: str
    reuse: bool = False


async def refresh(
    session: AsyncSession, ctx: IdentityContext, token: str
) -> TokenPair | RefreshRejected:
    """Rotate a refresh token; a token used twice revokes its whole family and session."""
    repo = IdentityRepository(session)
    row = await repo.refresh_token(token_hash(token))
    now = datetime.now(UTC)
    if row is None or row.revoked_at is not None or row.expires_at <= now:
        return RefreshRejected("The refresh token is invalid, expired or revoked.")
    if row.used_at is not None:
        await repo.revoke_family(row.family_id, now)
        await ctx.sessions.close(row.session_id)
        return RefreshRejected("The refresh token was already used; the session is revoked.", True)
    user = await repo.user(row.user_id)
    if (
        user is None
        or not user.active
        or not await ctx.sessions.is_open(row.session_id, str(user.id))
    ):
        return RefreshRejected("The session has ended.")
    row.used_at = now
    new = _new_refresh(session, ctx, user.id, row.session_id, row.family_id)
    return _pair(ctx, user, row.session_id, new)


async def logout(session: AsyncSession, ctx: IdentityContext, principal: Principal) -> None:
    """End the caller's session: its access and refresh tokens stop working at once."""
    await ctx.sessions.close(principal.session_id)
    await IdentityRepository(session).revoke_session_tokens(
        [principal.session_id], datetime.now(UTC)
    )


async def authenticate(session: AsyncSession, ctx: IdentityContext, access_token: str) -> Principal:
    """The principal behind a bearer token: valid signature, open session, current permissions."""
    claims = ctx.tokens.read(access_token)
    if not await ctx.sessions.is_open(claims.session_id, str(claims.user_id)):
        raise Unauthenticated("The session has ended; sign in again.")
    cached = await ctx.cache.role(claims.role)
    if cached is None:
        role = await IdentityRepository(session).role(claims.role)
        if role is None:
            raise Unauthenticated("The token's role no longer exists; sign in again.")
        cached = (role.version, frozenset(role.permissions))
        await ctx.cache.put_role(role.name, *cached)
    return Principal(claims.user_id, claims.session_id, claims.role, cached[1])


async def me(session: AsyncSession, principal: Principal) -> UserOut:
    user = await IdentityRepository(session).user(principal.user_id)
    if user is None:
        raise UserNotFound(principal.user_id)
    return user_out(user)


# -- roles ----------------------------------------------------------------------------------


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


# -- users ----------------------------------------------------------------------------------


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
    if user.id == by.user_id and role.name != user.role.name:
        raise Forbidden("You cannot change your own role.")
    user.role = role
    user.updated_at = datetime.now(UTC)
    await session.flush()
    closed = await ctx.sessions.close_all(str(user.id))
    await repo.revoke_session_tokens(closed, datetime.now(UTC))
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
    user.active = active
    user.updated_at = datetime.now(UTC)
    await session.flush()
    if not active:
        closed = await ctx.sessions.close_all(str(user.id))
        await repo.revoke_session_tokens(closed, datetime.now(UTC))
    return user_out(user)


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
        password_hash=await _hash(password),
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
