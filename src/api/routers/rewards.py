"""Achievements and quests: customers see their progress and start quests; staff define them."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query

from api.access import CurrentPrincipal
from api.deps import Session
from api.problems import responses
from commerce.pages import Page
from commerce.rewards import service
from commerce.rewards.schemas import AchievementOut, EnrolmentOut, QuestIn, QuestOut, QuestPatch

router = APIRouter(tags=["rewards"], responses=responses(422))
ERRORS = responses(401, 403)


@router.get("/api/me/achievements", response_model=list[AchievementOut], responses=ERRORS)
async def my_achievements(principal: CurrentPrincipal, session: Session) -> list[AchievementOut]:
    """Every achievement with your progress towards it, and when you unlocked it."""
    return await service.achievements_of(session, principal.user_id)


@router.get("/api/quests", response_model=list[QuestOut])
async def open_quests(session: Session) -> list[QuestOut]:
    """Quests running now, soonest to end first."""
    return await service.open_quests(session, datetime.now(UTC))


@router.post(
    "/api/quests/{quest_id}/start",
    status_code=201,
    response_model=EnrolmentOut,
    responses={**ERRORS, **responses(404, 409)},
)
async def start_quest(
    quest_id: uuid.UUID, principal: CurrentPrincipal, session: Session
) -> EnrolmentOut:
    """Take on a quest: orders paid from now until it ends count towards it."""
    return await service.start_quest(session, principal.user_id, quest_id, datetime.now(UTC))


@router.get("/api/me/quests", response_model=list[EnrolmentOut], responses=ERRORS)
async def my_quests(principal: CurrentPrincipal, session: Session) -> list[EnrolmentOut]:
    """The quests you started, with progress, and the reward code of those completed."""
    return await service.my_quests(session, principal.user_id)


@router.get("/api/admin/quests", response_model=Page[QuestOut], responses=ERRORS)
async def list_quests(
    session: Session,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
    size: Annotated[int, Query(ge=1, le=100)] = 20,
) -> Page[QuestOut]:
    return await service.list_quests(session, page=page, size=size)


@router.post("/api/admin/quests", status_code=201, response_model=QuestOut, responses=ERRORS)
async def create_quest(data: QuestIn, session: Session) -> QuestOut:
    """A time-boxed goal (orders, categories or US$ spent) and the reward for reaching it."""
    return await service.create_quest(session, data)


@router.patch(
    "/api/admin/quests/{quest_id}",
    response_model=QuestOut,
    responses={**ERRORS, **responses(404)},
)
async def update_quest(quest_id: uuid.UUID, patch: QuestPatch, session: Session) -> QuestOut:
    """Rename, extend or retire (active: false) a quest; its goal stays."""
    return await service.update_quest(session, quest_id, patch)
