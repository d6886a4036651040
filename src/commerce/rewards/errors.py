"""Reward errors, mapped to problem details by the API."""

from __future__ import annotations

import uuid

from commerce.errors import Conflict, InvalidInput, NotFound


class QuestNotFound(NotFound):
    def __init__(self, quest_id: uuid.UUID) -> None:
        super().__init__(f"No quest {quest_id}.")


class QuestAlreadyStarted(Conflict):
    def __init__(self, quest_id: uuid.UUID) -> None:
        super().__init__(f"You already started quest {quest_id}.")


class QuestNotOpen(InvalidInput):
    """Started before it begins or after it ends."""


class RewardSpent(Conflict):
    """Taking an order back would undo a quest whose reward was already spent elsewhere."""

    title = "Reward already spent"

    def __init__(self, quest: str, code: str, order_id: uuid.UUID) -> None:
        super().__init__(
            f"This order counts toward the quest {quest!r}, whose reward {code} was spent on "
            f"order {order_id}: cancel that order first (its discount was earned by this "
            "one), then this one.",
            quest=quest,
            reward_code=code,
            spent_on=str(order_id),
        )
