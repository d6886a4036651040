"""Signing in and out: login under the limits, token rotation, sessions, authentication.

Services never commit; the caller's unit of work does. Redis state (sessions, limits,
caches) lives in the adapters of `IdentityContext`.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from commerce.identity import passwords
from commerce.identity.context import IdentityContext, Principal
from commerce.identity.errors import (
    Forbidden,
    InvalidCredentials,
    Unauthenticated,
)
from commerce.identity.models import RefreshToken, User
from commerce.identity.repository import IdentityRepository
from commerce.identity.schemas import TokenPair
from commerce.identity.tokens import (
    AccessClaims,
    new_refresh_token,
    new_session_id,
    token_hash,
)
from commerce.identity.views import user_out


async def issue(session: AsyncSession, ctx: IdentityContext, user: User) -> TokenPair:
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
        user.password_hash = await passwords.hash_in_thread(password)
    user.last_login_at = datetime.now(UTC)
    return await issue(session, ctx, user)


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


async def end_all(
    session: AsyncSession, ctx: IdentityContext, user_id: uuid.UUID, *, keep: str | None = None
) -> None:
    """End every session of a user but `keep`: access tokens stop at once, and the
    sessions' refresh tokens are revoked (role change, deactivation, new password)."""
    closed = await ctx.sessions.close_all(str(user_id), keep=keep)
    await IdentityRepository(session).revoke_session_tokens(closed, datetime.now(UTC))


async def authenticate(session: AsyncSession, ctx: IdentityContext, access_token: str) -> Principal:
    """The principal behind a bearer token: valid signature, open session, current permissions."""
    claims = ctx.tokens.read(access_token)
    if not await ctx.sessions.is_open(claims.session_id, str(claims.user_id)):
        raise Unauthenticated("The session has ended; sign in again.")
    permissions = await role_permissions(session, ctx, claims.role)
    return Principal(claims.user_id, claims.session_id, claims.role, permissions)


async def role_permissions(
    session: AsyncSession, ctx: IdentityContext, role_name: str
) -> frozenset[str]:
    """The role's permissions now (cached in Redis, dropped on every change)."""
    cached = await ctx.cache.role(role_name)
    if cached is None:
        role = await IdentityRepository(session).role(role_name)
        if role is None:
            raise Unauthenticated("The token's role no longer exists; sign in again.")
        cached = (role.version, frozenset(role.permissions))
        await ctx.cache.put_role(role.name, *cached)
    return cached[1]
