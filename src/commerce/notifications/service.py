"""Notifications: each user's channels, their in-app history, and `notify`, which queues
what a user should get on the channels they chose (in the caller's transaction)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic_core import to_jsonable_python
from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from commerce.identity.models import Role, User
from commerce.identity.permissions import Permission
from commerce.notifications.errors import NotificationNotFound
from commerce.notifications.models import EmailDelivery, Notification, NotificationPreference
from commerce.notifications.rendering import CRITICAL, Kind, render
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
    row = await session.get(NotificationPreference, user_id)
    if row is None:
        return Preferences()
    return Preferences(email=row.email, in_app=row.in_app, stock_alerts=row.stock_alerts)


async def set_preferences(
    session: AsyncSession, user_id: uuid.UUID, chosen: Preferences
) -> Preferences:
    values = chosen.model_dump()
    await session.execute(
        insert(NotificationPreference)
        .values(user_id=user_id, **values)
        .on_conflict_do_update(
            index_elements=["user_id"], set_={**values, "updated_at": func.now()}
        )
    )
    return chosen


async def stock_alert_recipients(session: AsyncSession) -> list[Recipient]:
    """Active users who may manage inventory and chose low-stock alerts."""
    users = await session.scalars(
        select(User)
        .join(Role, User.role_id == Role.id)
        .join(NotificationPreference, NotificationPreference.user_id == User.id)
        .where(
            User.active,
            NotificationPreference.stock_alerts,
            Role.permissions.contains([Permission.MANAGE_INVENTORY.value]),
        )
        .order_by(User.email)
    )
    return [recipient(user) for user in users]


def recipient(user: User) -> Recipient:
    return Recipient(user_id=user.id, email=user.email, first_name=user.first_name)


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
    chosen = await preferences_of(session, recipient.user_id)
    by_email = chosen.email or kind in CRITICAL
    in_app = chosen.in_app and kind not in CRITICAL
    if not (by_email or in_app):
        return
    user = {"first_name": recipient.first_name, "email": recipient.email}
    rendered = render(kind, {**context, "user": user, "shop_name": shop.name, "shop_url": shop.url})
    if by_email:
        await session.execute(
            insert(EmailDelivery)
            .values(
                user_id=recipient.user_id,
                recipient=recipient.email,
                kind=kind,
                source=source,
                subject=rendered.subject,
                text_body=rendered.text,
                html_body=rendered.html,
                attempts=0,
            )
            .on_conflict_do_nothing(constraint="uq_email_deliveries_recipient_source")
        )
    if in_app:
        await session.execute(
            insert(Notification)
            .values(
                id=uuid.uuid4(),
                user_id=recipient.user_id,
                kind=kind,
                source=source,
                title=rendered.subject,
                body=rendered.text,
                data=to_jsonable_python(context),
            )
            .on_conflict_do_nothing(constraint="uq_notifications_user_source")
        )


async def history(
    session: AsyncSession, user_id: uuid.UUID, *, page: int, size: int, unread_only: bool
) -> NotificationPage:
    """A user's notifications, newest first, with how many are unread."""
    mine = Notification.user_id == user_id
    unread = Notification.read_at.is_(None)
    shown = (mine, unread) if unread_only else (mine,)
    rows = await session.scalars(
        select(Notification)
        .where(*shown)
        .order_by(Notification.created_at.desc(), Notification.id)
        .offset((page - 1) * size)
        .limit(size)
    )
    total = await session.scalar(select(func.count()).select_from(Notification).where(*shown))
    unread_count = await session.scalar(
        select(func.count()).select_from(Notification).where(mine, unread)
    )
    return NotificationPage(
        items=[_out(row) for row in rows],
        total=total or 0,
        unread=unread_count or 0,
        page=page,
        size=size,
    )


async def mark(
    session: AsyncSession, user_id: uuid.UUID, notification_id: uuid.UUID, read: bool
) -> NotificationOut:
    row = await session.get(Notification, notification_id, with_for_update=True)
    if row is None or row.user_id != user_id:
        raise NotificationNotFound(notification_id)
    if read and row.read_at is None:
        row.read_at = datetime.now(UTC)
    elif not read:
        row.read_at = None
    return _out(row)


async def mark_all_read(session: AsyncSession, user_id: uuid.UUID) -> int:
    result = await session.execute(
        update(Notification)
        .where(Notification.user_id == user_id, Notification.read_at.is_(None))
        .values(read_at=datetime.now(UTC))
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


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
