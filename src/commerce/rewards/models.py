"""Reward tables: unlocked achievements, the quests staff define and those customers start."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from sqlalchemy import Boolean, DateTime, ForeignKey, Integer, Numeric, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from commerce.db import Base


class AchievementUnlock(Base):
    """An achievement a customer unlocked: one row each, so it unlocks exactly once."""

    __tablename__ = "achievement_unlocks"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), primary_key=True)
    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    unlocked_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )


class Quest(Base):
    """A time-boxed goal staff define; customers start it and orders paid after that count."""

    __tablename__ = "quests"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    title: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text, default="")
    #: "orders" (paid orders), "categories" (distinct categories bought), "spend_usd".
    goal_kind: Mapped[str] = mapped_column(String(16))
    goal: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    starts_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ends_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    #: The reward: a single-use code for the customer, `reward_percent` off, valid this long.
    reward_percent: Mapped[Decimal] = mapped_column(Numeric(5, 2))
    reward_days: Mapped[int] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class QuestEnrolment(Base):
    """A customer's run at a quest: started, maybe completed, with the code it earned."""

    __tablename__ = "quest_enrolments"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), primary_key=True)
    quest_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("quests.id"), primary_key=True)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    reward_coupon_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("coupons.id"))
