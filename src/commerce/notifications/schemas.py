"""What the notification endpoints read and answer."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict


class Preferences(BaseModel):
    """The channels a user is reached by. Password resets come by email whatever these say."""

    model_config = ConfigDict(extra="forbid")

    email: bool = True
    in_app: bool = True
    #: Low-stock alerts (for staff who manage inventory), on the channels above.
    stock_alerts: bool = False


class NotificationOut(BaseModel):
    id: uuid.UUID
    kind: str
    title: str
    body: str
    data: dict[str, Any]
    created_at: datetime
    read: bool


class NotificationPage(BaseModel):
    items: list[NotificationOut]
    total: int
    unread: int
    page: int
    size: int


class ReadState(BaseModel):
    model_config = ConfigDict(extra="forbid")

    read: bool


class MarkedRead(BaseModel):
    marked: int
