"""Notification errors, mapped to problem details by the API."""

from __future__ import annotations

import uuid

from commerce.errors import NotFound


class NotificationNotFound(NotFound):
    def __init__(self, notification_id: uuid.UUID) -> None:
        super().__init__(f"No notification {notification_id} of yours.")
