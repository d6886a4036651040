"""Passwords people forget or change: a reset by email (a single-use token, valid for a
while) and a change while signed in. Either way the new password ends the other sessions."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from commerce.identity import passwords
from commerce.identity.context import IdentityContext, Principal
from commerce.identity.errors import InvalidResetToken, UserNotFound, WrongPassword
from commerce.identity.models import PasswordReset, User
from commerce.identity.repository import IdentityRepository
from commerce.identity.service import check_password_policy
from commerce.identity.sessions import end_all
from commerce.identity.tokens import new_refresh_token, token_hash

#: One reset email per account in this long, however often it is asked for.
RESEND_AFTER = timedelta(minutes=1)
ANSWER = "If an account uses that address, a reset link is on its way to it."


@dataclass(frozen=True)
class IssuedReset:
    """A reset token for the account at an address: the email sends the token, the database
    keeps its hash."""

    user: User
    token: str

    @property
    def token_hash(self) -> str:
        return token_hash(self.token)


async def issue_reset(
    session: AsyncSession, email: str, valid_for: timedelta
) -> IssuedReset | None:
    """A single-use token if the address has an active account not sent one a moment ago.
    Callers answer `ANSWER` either way, so the answer does not tell who has an account."""
    user = await IdentityRepository(session).user_by_email(email.lower())
    if user is None or not user.active or await _asked_recently(session, user.id):
        return None
    token = new_refresh_token()
    now = datetime.now(UTC)
    session.add(
        PasswordReset(token_hash=token_hash(token), user_id=user.id, expires_at=now + valid_for)
    )
    return IssuedReset(user, token)


async def _asked_recently(session: AsyncSession, user_id: uuid.UUID) -> bool:
    latest = await IdentityRepository(session).latest_reset_at(user_id)
    return latest is not None and latest > datetime.now(UTC) - RESEND_AFTER


async def reset_password(
    session: AsyncSession, ctx: IdentityContext, token: str, new_password: str
) -> None:
    """Set a new password with a token from the email; every session of the account ends."""
    now = datetime.now(UTC)
    repo = IdentityRepository(session)
    reset = await repo.reset(token_hash(token))
    if reset is None or reset.used_at is not None or reset.expires_at <= now:
        raise InvalidResetToken()
    user = await repo.user(reset.user_id, for_update=True)
    if user is None or not user.active:
        raise InvalidResetToken()
    await _set_password(session, user, new_password)
    # Every link sent to this account stops working, not only the one used.
    await repo.spend_resets(user.id, now)
    await end_all(session, ctx, user.id)


async def change_password(
    session: AsyncSession,
    ctx: IdentityContext,
    principal: Principal,
    current: str,
    new_password: str,
    address: str,
) -> None:
    """A signed-in user's new password; their other sessions end, this one stays.
    Wrong current passwords count against the login limits (it is a password guess)."""
    user = await IdentityRepository(session).user(principal.user_id, for_update=True)
    if user is None:
        raise UserNotFound(principal.user_id)
    await ctx.limiter.reserve(user.email, address)
    if not await asyncio.to_thread(passwords.verify_password, user.password_hash, current):
        raise WrongPassword()
    await ctx.limiter.succeeded(user.email, address)
    await _set_password(session, user, new_password)
    await end_all(session, ctx, user.id, keep=principal.session_id)


async def _set_password(session: AsyncSession, user: User, new_password: str) -> None:
    check_password_policy(new_password, user.email)
    user.password_hash = await passwords.hash_in_thread(new_password)
    user.updated_at = datetime.now(UTC)
    await session.flush()
