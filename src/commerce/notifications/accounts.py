"""Emails about a person's account that are not events: the password reset link (its token
must not travel through the outbox), queued in the request's transaction."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from commerce.identity import recovery
from commerce.notifications.rendering import Kind
from commerce.notifications.service import Shop, notify, recipient


async def email_reset_link(
    session: AsyncSession, shop: Shop, email: str, valid_for: timedelta
) -> str:
    """Email a reset link if the address has an active account. The answer is the same
    either way, so it does not tell who has an account."""
    reset = await recovery.issue_reset(session, email, valid_for)
    if reset is not None:
        context = {
            "link": f"{shop.url.rstrip('/')}/reset-password?token={reset.token}",
            "minutes": int(valid_for.total_seconds() // 60),
        }
        source = f"password_reset:{reset.token_hash}"
        await notify(
            session, shop, recipient(reset.user), Kind.PASSWORD_RESET, context, source=source
        )
    return recovery.ANSWER
