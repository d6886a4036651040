"""Notifications: each user's channels, their in-app history, and `notify`, which queues
what a user should get on the channels they chose (in the caller's transaction)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic_core import to_jsonable_python
from sqlalchemy.ext.asyncio import AsyncSession

from commerce.identity.models import User
from commerce.notifications.errors import NotificationNotFound
from commerce.notifications.models import Notification, NotificationPreference
from commerce.notifications.rendering import CRITICAL, Kind, render
from commerce.notifications.repository import NotificationRepository
from commerce.notifications.schemas import NotificationOut, NotificationPage, Preferences


@dataclass(frozen=True)
class Shop:
    """How emails name the shop and link to it."""

    name: str
    url: str


@dataclass(frozen=True)
class Recipient:
    user_id: uuid.UUID
    email: str
    first_name: str


async def preferences_of(session: AsyncSession, user_id: uuid.UUID) -> Preferences:
    row = await NotificationRepository(session).preferences(user_id)
    return _preferences(row)


def _preferences(row: NotificationPreference | None) -> Preferences:
    if row is None:
        return Preferences()
    return Preferences(email=row.email, in_app=row.in_app, stock_alerts=row.stock_alerts)


async def set_preferences(
    session: AsyncSession, user_id: uuid.UUID, chosen: Preferences
) -> Preferences:
    await NotificationRepository(session).set_preferences(user_id, chosen.model_dump())
    return chosen


async def stock_alert_recipients(session: AsyncSession) -> list[Recipient]:
    """Active users who may manage inventory and chose low-stock alerts."""
    users = await NotificationRepository(session).stock_alert_subscribers()
    return [recipient(user) for user in users]


def recipient(user: User) -> Recipient:
    return Recipient(user_id=user.id, email=user.email, first_name=user.first_name)


@dataclass(frozen=True)
class Notice:
    """What one recipient should hear of; `source` (an event, a request) makes it once."""

    recipient: Recipient
    kind: Kind
    context: dict[str, Any]
    source: str


async def recipients(
    session: AsyncSession, user_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, Recipient]:
    """The users of `user_ids` that exist, as recipients."""
    found = await NotificationRepository(session).addresses(user_ids)
    return {
        user_id: Recipient(user_id=user_id, email=email, first_name=first_name)
        for user_id, (email, first_name) in found.items()
    }


async def notify(
    session: AsyncSession,
    shop: Shop,
    recipient: Recipient,
    kind: Kind,
    context: dict[str, Any],
    *,
    source: str,
) -> None:
    """Queue `kind` for `recipient` on their channels; `source` (an event, a request) makes
    it once: queued again from the same source, it adds nothing."""
    await notify_all(session, shop, [Notice(recipient, kind, context, source)])


async def notify_all(session: AsyncSession, shop: Shop, notices: Sequence[Notice]) -> None:
    """Queue each notice on its recipient's channels, a statement per channel for them all
    (the worker's notify consumer queued two emails per order, each costing more round
    trips than its rendering)."""
    if not notices:
        return
    repo = NotificationRepository(session)
    chosen = await repo.preferences_of({notice.recipient.user_id for notice in notices})
    emails: list[dict[str, Any]] = []
    in_app: list[dict[str, Any]] = []
    for notice in notices:
        to, kind = notice.recipient, notice.kind
        preferences = _preferences(chosen.get(to.user_id))
        by_email = preferences.email or kind in CRITICAL
        in_app_too = preferences.in_app and kind not in CRITICAL
        if not (by_email or in_app_too):
            continue
        user = {"first_name": to.first_name, "email": to.email}
        context = {**notice.context, "user": user, "shop_name": shop.name, "shop_url": shop.url}
        rendered = render(kind, context)
        if by_email:
            emails.append(
                {
                    "user_id": to.user_id,
                    "recipient": to.email,
                    "kind": kind,
                    "source": notice.source,
                    "subject": rendered.subject,
                    "text_body": rendered.text,
                    "html_body": rendered.html,
                }
            )
        if in_app_too:
            in_app.append(
                {
                    "user_id": to.user_id,
                    "kind": kind,
                    "source": notice.source,
                    "title": rendered.subject,
                    "body": rendered.text,
                    "data": to_jsonable_python(notice.context),
                }
            )
    await repo.queue_emails(emails)
    await repo.queue_in_app(in_app)


async def history(
    session: AsyncSession, user_id: uuid.UUID, *, page: int, size: int, unread_only: bool
) -> NotificationPage:
    """A user's notifications, newest first, with how many are unread."""
    rows, total, unread = await NotificationRepository(session).page(
        user_id, unread_only=unread_only, offset=(page - 1) * size, limit=size
    )
    return NotificationPage(
        items=[_out(row) for row in rows],
        total=total,
        unread=unread,
        page=page,
        size=size,
    )


async def mark(
    session: AsyncSession, user_id: uuid.UUID, notification_id: uuid.UUID, read: bool
) -> NotificationOut:
    row = await NotificationRepository(session).notification(notification_id)
    if row is None or row.user_id != user_id:
        raise NotificationNotFound(notification_id)
    if read and row.read_at is None:
        row.read_at = datetime.now(UTC)
    elif not read:
        row.read_at = None
    return _out(row)


async def mark_all_read(session: AsyncSession, user_id: uuid.UUID) -> int:
    return await NotificationRepository(session).mark_all_read(user_id, datetime.now(UTC))


def _out(row: Notification) -> NotificationOut:
    return NotificationOut(
        id=row.id,
        kind=row.kind,
        title=row.title,
        body=row.body,
        data=row.data,
        created_at=row.created_at,
        read=row.read_at is not None,
    )
