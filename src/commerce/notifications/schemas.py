"""What the notification endpoints read and answer."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field


class Preferences(BaseModel):
    """The channels a user is reached by. Password resets come by email whatever these say."""

    model_config = ConfigDict(extra="forbid")

    # Strict: `0` or "yes" is not a yes or a no (the schema says boolean, so does the server).
    email: Annotated[bool, Field(strict=True)] = True
    in_app: Annotated[bool, Field(strict=True)] = True
    #: Low-stock alerts (for staff who manage inventory), on the channels above.
    stock_alerts: Annotated[bool, Field(strict=True)] = False


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

    read: Annotated[bool, Field(strict=True)]


class MarkedRead(BaseModel):
    marked: int
