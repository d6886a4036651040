"""Each user's notifications: the channels they chose and their in-app history."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from api.access import CurrentPrincipal
from api.deps import Session
from api.problems import responses
from commerce.notifications import service
from commerce.notifications.schemas import (
    MarkedRead,
    NotificationOut,
    NotificationPage,
    Preferences,
    ReadState,
)

router = APIRouter(prefix="/api/me", tags=["notifications"], responses=responses(401, 422))


@router.get("/notification-preferences", response_model=Preferences)
async def get_preferences(principal: CurrentPrincipal, session: Session) -> Preferences:
    """Email and in-app are on until you turn them off; password resets always come."""
    return await service.preferences_of(session, principal.user_id)


@router.put("/notification-preferences", response_model=Preferences)
async def set_preferences(
    chosen: Preferences, principal: CurrentPrincipal, session: Session
) -> Preferences:
    return await service.set_preferences(session, principal.user_id, chosen)


@router.get("/notifications", response_model=NotificationPage)
async def list_notifications(
    principal: CurrentPrincipal,
    session: Session,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
    size: Annotated[int, Query(ge=1, le=100)] = 20,
    unread: Annotated[bool, Query(description="Only those not read yet")] = False,
) -> NotificationPage:
    """Your in-app notifications, newest first, with how many are unread."""
    return await service.history(
        session, principal.user_id, page=page, size=size, unread_only=unread
    )


@router.patch(
    # `:uuid`: only an id matches, so PATCH /notifications/read is a 405, not a bad id.
    "/notifications/{notification_id:uuid}",
    response_model=NotificationOut,
    responses=responses(404),
)
async def mark_notification(
    notification_id: uuid.UUID, state: ReadState, principal: CurrentPrincipal, session: Session
) -> NotificationOut:
    return await service.mark(session, principal.user_id, notification_id, state.read)


@router.post("/notifications/read", response_model=MarkedRead)
async def mark_all_read(principal: CurrentPrincipal, session: Session) -> MarkedRead:
    return MarkedRead(marked=await service.mark_all_read(session, principal.user_id))
