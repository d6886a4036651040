"""Every query of notifications: preferences, in-app notifications and the email queue."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from commerce.db import one_of
from commerce.identity.models import Role, User
from commerce.identity.permissions import Permission
from commerce.notifications.models import EmailDelivery, Notification, NotificationPreference


class NotificationRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # -- preferences ---------------------------------------------------------------------

    async def preferences(self, user_id: uuid.UUID) -> NotificationPreference | None:
        return await self.session.get(NotificationPreference, user_id)

    async def preferences_of(
        self, user_ids: Iterable[uuid.UUID]
    ) -> dict[uuid.UUID, NotificationPreference]:
        """The preferences of those of `user_ids` who chose any (the rest keep the defaults)."""
        rows = await self.session.scalars(
            select(NotificationPreference).where(one_of(NotificationPreference.user_id, user_ids))
        )
        return {row.user_id: row for row in rows}

    async def set_preferences(self, user_id: uuid.UUID, values: dict[str, Any]) -> None:
        await self.session.execute(
            insert(NotificationPreference)
            .values(user_id=user_id, **values)
            .on_conflict_do_update(
                index_elements=["user_id"], set_={**values, "updated_at": func.now()}
            )
        )

    async def stock_alert_subscribers(self) -> list[User]:
        """Active users who may manage inventory and chose low-stock alerts."""
        users = await self.session.scalars(
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
        return list(users)

    async def addresses(self, user_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, tuple[str, str]]:
        """Each user's email address and first name."""
        rows = await self.session.execute(
            select(User.id, User.email, User.first_name).where(one_of(User.id, user_ids))
        )
        return {user_id: (email, first_name) for user_id, email, first_name in rows.tuples()}

    # -- queueing, once per source -------------------------------------------------------

    async def queue_emails(self, rows: Sequence[dict[str, Any]]) -> None:
        """Queue emails in one statement, in order; one already queued from its source for
        its recipient is not queued again."""
        if rows:
            await self.session.execute(
                insert(EmailDelivery)
                .values([{"attempts": 0, **row} for row in rows])
                .on_conflict_do_nothing(constraint="uq_email_deliveries_recipient_source")
            )

    async def queue_in_app(self, rows: Sequence[dict[str, Any]]) -> None:
        """Add in-app notifications in one statement; once per user and source."""
        if rows:
            await self.session.execute(
                insert(Notification)
                .values([{"id": uuid.uuid4(), **row} for row in rows])
                .on_conflict_do_nothing(constraint="uq_notifications_user_source")
            )

    # -- in-app history ------------------------------------------------------------------

    async def page(
        self, user_id: uuid.UUID, *, unread_only: bool, offset: int, limit: int
    ) -> tuple[Sequence[Notification], int, int]:
        """A page of a user's notifications, newest first; the total shown and unread."""
        mine = Notification.user_id == user_id
        unread = Notification.read_at.is_(None)
        shown: tuple[ColumnElement[bool], ...] = (mine, unread) if unread_only else (mine,)
        rows = await self.session.scalars(
            select(Notification)
            .where(*shown)
            .order_by(Notification.created_at.desc(), Notification.id)
            .offset(offset)
            .limit(limit)
        )
        total = await self.session.scalar(
            select(func.count()).select_from(Notification).where(*shown)
        )
        unread_count = await self.session.scalar(
            select(func.count()).select_from(Notification).where(mine, unread)
        )
        return list(rows), total or 0, unread_count or 0

    async def notification(self, notification_id: uuid.UUID) -> Notification | None:
        return await self.session.get(Notification, notification_id, with_for_update=True)

    async def mark_all_read(self, user_id: uuid.UUID, now: datetime) -> int:
        result = await self.session.execute(
            update(Notification)
            .where(Notification.user_id == user_id, Notification.read_at.is_(None))
            .values(read_at=now)
        )
        return int(result.rowcount)  # type: ignore[attr-defined]

    # -- the email queue -----------------------------------------------------------------

    async def claim_due(
        self, now: datetime, limit: int, lease_until: datetime
    ) -> list[EmailDelivery]:
        """Deliveries due now, each counted as an attempt and leased until `lease_until`;
        rows another sender holds are skipped, not waited on."""
        due = (
            select(EmailDelivery.id)
            .where(
                EmailDelivery.sent_at.is_(None),
                EmailDelivery.failed_at.is_(None),
                EmailDelivery.next_attempt_at <= now,
            )
            .order_by(EmailDelivery.next_attempt_at, EmailDelivery.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        claimed = await self.session.scalars(
            update(EmailDelivery)
            .where(EmailDelivery.id.in_(due.scalar_subquery()))
            .values(attempts=EmailDelivery.attempts + 1, next_attempt_at=lease_until)
            .returning(EmailDelivery)
            .execution_options(synchronize_session=False)
        )
        return sorted(claimed, key=lambda d: (d.created_at, d.id))

    async def update_deliveries(self, ids: Sequence[int], values: dict[str, object]) -> None:
        await self.session.execute(
            update(EmailDelivery).where(EmailDelivery.id.in_(ids)).values(**values)
        )
