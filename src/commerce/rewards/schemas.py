"""What the achievement and quest endpoints read and answer."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema, model_validator

from commerce.inputs import NotBoolean, Timestamp
from commerce.rewards.standing import Measure

Title = Annotated[str, Field(min_length=1, max_length=120)]


Description = Annotated[str, Field(max_length=2000)]


def documented_decimal(most: int, pattern: str) -> WithJsonSchema:
    """A positive amount up to `most` documented as a decimal string matching `pattern` or
    a whole number (a float's rounding could change it)."""
    whole = {"type": "integer", "minimum": 1, "maximum": most}
    return WithJsonSchema({"anyOf": [whole, {"type": "string", "pattern": pattern}]})


Goal = Annotated[
    Decimal,
    Field(gt=0, le=1_000_000, decimal_places=2),
    documented_decimal(1_000_000, r"^(?=.*[1-9])(\d{1,6}(\.\d{1,2})?|1000000(\.0{1,2})?)$"),
]
RewardPercent = Annotated[
    Decimal,
    Field(gt=0, le=100, decimal_places=2),
    documented_decimal(100, r"^(?=.*[1-9])(\d{1,2}(\.\d{1,2})?|100(\.0{1,2})?)$"),
]


class AchievementOut(BaseModel):
    code: str
    title: str
    description: str
    goal: Decimal
    progress: Decimal
    unlocked_at: datetime | None


class QuestIn(BaseModel):
    """A quest staff define, e.g. buy from 3 categories this week for 10% off."""

    model_config = ConfigDict(extra="forbid")

    title: Title
    description: Description = ""
    goal_kind: Measure
    goal: Goal
    starts_at: Timestamp
    ends_at: Timestamp
    reward_percent: RewardPercent
    #: How long the reward code stays valid once granted.
    reward_days: Annotated[int, Field(ge=1, le=365), NotBoolean] = 30

    @model_validator(mode="after")
    def _window(self) -> Self:
        if self.starts_at.tzinfo is None or self.ends_at.tzinfo is None:
            raise ValueError("starts_at and ends_at need a time zone")
        if self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        if self.goal_kind is not Measure.SPEND_USD and self.goal != int(self.goal):
            raise ValueError(f"a {self.goal_kind} goal is a whole number")
        return self


class QuestPatch(BaseModel):
    """Changes to a quest; its goal stays (retire it and define another)."""

    model_config = ConfigDict(extra="forbid")

    title: Title | None = None
    description: Description | None = None
    ends_at: Timestamp | None = None
    active: Annotated[bool, Field(strict=True)] | None = None


class QuestOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    title: str
    description: str
    goal_kind: Measure
    goal: Decimal
    starts_at: Timestamp
    ends_at: Timestamp
    reward_percent: Decimal
    reward_days: int
    active: bool


class Reward(BaseModel):
    code: str
    percent: Decimal
    expires_at: datetime | None
    used: bool


class EnrolmentOut(BaseModel):
    quest: QuestOut
    started_at: datetime
    progress: Decimal
    completed_at: datetime | None
    reward: Reward | None
