"""Every query of rewards: achievements unlocked, quests, enrolments and their reward codes."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from commerce.db import one_of
from commerce.promotions.models import Coupon, CouponRedemption
from commerce.rewards.models import AchievementUnlock, Quest, QuestEnrolment


class RewardsRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def unlocked(self, user_id: uuid.UUID) -> dict[str, datetime]:
        """Each achievement the user unlocked, and when."""
        return (await self.unlocked_of([user_id])).get(user_id, {})

    async def unlocked_of(
        self, user_ids: Iterable[uuid.UUID]
    ) -> dict[uuid.UUID, dict[str, datetime]]:
        """Each achievement each of the users unlocked, and when (users with none left out)."""
        rows = await self.session.execute(
            select(
                AchievementUnlock.user_id, AchievementUnlock.code, AchievementUnlock.unlocked_at
            ).where(one_of(AchievementUnlock.user_id, user_ids))
        )
        unlocked: dict[uuid.UUID, dict[str, datetime]] = {}
        for user_id, code, at in rows.tuples():
            unlocked.setdefault(user_id, {})[code] = at
        return unlocked

    async def unlock(self, user_id: uuid.UUID, code: str) -> bool:
        """Record an achievement once; False if it was unlocked before."""
        unlocked = await self.session.scalar(
            insert(AchievementUnlock)
            .values(user_id=user_id, code=code)
            .on_conflict_do_nothing()
            .returning(AchievementUnlock.code)
        )
        return unlocked is not None

    async def quest(self, quest_id: uuid.UUID, *, for_update: bool = False) -> Quest | None:
        return await self.session.get(Quest, quest_id, with_for_update=for_update)

    async def open_quests(self, now: datetime) -> list[Quest]:
        quests = await self.session.scalars(
            select(Quest)
            .where(Quest.active, Quest.starts_at <= now, Quest.ends_at > now)
            .order_by(Quest.ends_at, Quest.id)
        )
        return list(quests)

    async def quest_page(self, *, offset: int, limit: int) -> tuple[list[Quest], int]:
        """Quests, newest first, and how many there are."""
        total = await self.session.scalar(select(func.count()).select_from(Quest))
        quests = await self.session.scalars(
            select(Quest).order_by(Quest.created_at.desc(), Quest.id).offset(offset).limit(limit)
        )
        return list(quests), total or 0

    async def enrol(self, user_id: uuid.UUID, quest_id: uuid.UUID, now: datetime) -> bool:
        """Start a quest for a user; False if they had started it before."""
        started = await self.session.scalar(
            insert(QuestEnrolment)
            .values(user_id=user_id, quest_id=quest_id, started_at=now)
            .on_conflict_do_nothing()
            .returning(QuestEnrolment.started_at)
        )
        return started is not None

    async def enrolments(
        self, user_id: uuid.UUID
    ) -> list[tuple[QuestEnrolment, Quest, Coupon | None]]:
        """A user's quests, latest started first, with the reward code each granted."""
        rows = await self.session.execute(
            select(QuestEnrolment, Quest, Coupon)
            .join(Quest, Quest.id == QuestEnrolment.quest_id)
            .outerjoin(Coupon, Coupon.id == QuestEnrolment.reward_coupon_id)
            .where(QuestEnrolment.user_id == user_id)
            .order_by(QuestEnrolment.started_at.desc())
        )
        return list(rows.tuples().all())

    async def lock_enrolments(
        self, user_ids: Iterable[uuid.UUID]
    ) -> list[tuple[QuestEnrolment, Quest]]:
        """The users' enrolments with their quests, the enrolments locked in (user, quest)
        order: two batches reviewing the same users cannot deadlock."""
        rows = await self.session.execute(
            select(QuestEnrolment, Quest)
            .join(Quest, Quest.id == QuestEnrolment.quest_id)
            .where(one_of(QuestEnrolment.user_id, user_ids))
            .order_by(QuestEnrolment.user_id, QuestEnrolment.quest_id)
            .with_for_update(of=QuestEnrolment)
        )
        return list(rows.tuples().all())

    async def rewards_spent_elsewhere(
        self, user_id: uuid.UUID, order_id: uuid.UUID
    ) -> list[tuple[Quest, datetime, str, uuid.UUID | None]]:
        """Completed quests whose reward code was spent on an order other than `order_id`:
        the quest, when it was started, the code and the order that used it."""
        rows = await self.session.execute(
            select(Quest, QuestEnrolment.started_at, Coupon.code, CouponRedemption.order_id)
            .join(QuestEnrolment, QuestEnrolment.quest_id == Quest.id)
            .join(Coupon, Coupon.id == QuestEnrolment.reward_coupon_id)
            .join(CouponRedemption, CouponRedemption.coupon_id == Coupon.id)
            .where(
                QuestEnrolment.user_id == user_id,
                QuestEnrolment.completed_at.is_not(None),
                CouponRedemption.order_id.is_not(None),
                CouponRedemption.order_id != order_id,
            )
        )
        return list(rows.tuples().all())
