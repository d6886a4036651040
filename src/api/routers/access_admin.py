"""Roles, permissions and users: SUPER_ADMIN manages roles; MANAGE_USERS lists users."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response

from api.access import CurrentPrincipal
from api.deps import Identity, Session
from api.problems import responses
from commerce.catalog.schemas import Page
from commerce.identity import service
from commerce.identity.permissions import Permission
from commerce.identity.schemas import (
    RoleAssignment,
    RoleIn,
    RoleOut,
    RolePatch,
    UserOut,
    UserStatus,
)

router = APIRouter(prefix="/api", tags=["access"], responses=responses(401, 403, 422))

RoleNamePath = Annotated[str, Path(pattern=r"^[A-Z][A-Z0-9_]{1,63}$")]


@router.get("/permissions", response_model=list[Permission])
async def list_permissions() -> list[Permission]:
    return list(Permission)


@router.get("/roles", response_model=list[RoleOut])
async def list_roles(session: Session) -> list[RoleOut]:
    return await service.list_roles(session)


@router.post("/roles", status_code=201, response_model=RoleOut, responses=responses(409))
async def create_role(data: RoleIn, session: Session) -> RoleOut:
    return await service.create_role(session, data)


@router.patch("/roles/{name}", response_model=RoleOut, responses=responses(404, 409))
async def update_role(name: RoleNamePath, patch: RolePatch, session: Session) -> RoleOut:
    """A revoked permission stops working within a second (role.updated drops the cache)."""
    return await service.update_role(session, name, patch)


@router.delete("/roles/{name}", status_code=204, responses=responses(404, 409))
async def delete_role(name: RoleNamePath, session: Session) -> Response:
    await service.delete_role(session, name)
    return Response(status_code=204)


@router.get("/users", response_model=Page[UserOut])
async def list_users(
    session: Session,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
    size: Annotated[int, Query(ge=1, le=100)] = 20,
) -> Page[UserOut]:
    users, total = await service.list_users(session, page, size)
    return Page[UserOut](items=users, total=total, page=page, size=size)


@router.put("/users/{user_id}/role", response_model=UserOut, responses=responses(404))
async def assign_role(
    user_id: uuid.UUID,
    data: RoleAssignment,
    session: Session,
    identity: Identity,
    principal: CurrentPrincipal,
) -> UserOut:
    """Give a user a role; their sessions end so it applies at once."""
    return await service.assign_role(session, identity, user_id, data.role, by=principal)


@router.patch("/users/{user_id}", response_model=UserOut, responses=responses(404))
async def update_user(
    user_id: uuid.UUID,
    data: UserStatus,
    session: Session,
    identity: Identity,
    principal: CurrentPrincipal,
) -> UserOut:
    """Disable (or re-enable) an account; a disabled account is signed out everywhere."""
    return await service.set_active(session, identity, user_id, data.active, by=principal)
