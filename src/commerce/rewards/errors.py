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
