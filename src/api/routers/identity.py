"""Identity: accounts and sessions for everyone; roles, permissions and users for admins."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Header, Path, Query, Request, Response
from fastapi.responses import JSONResponse

from api.access import CurrentPrincipal
from api.deps import UUID_HEADER, ClientAddress, Identity, RedisClient, Session, ShopInfo
from api.problems import problem, responses
from commerce.carts.service import merge_guest_cart
from commerce.carts.store import guest_key
from commerce.identity import recovery, roles, service, sessions
from commerce.identity.permissions import Permission
from commerce.identity.schemas import (
    Accepted,
    Credentials,
    PasswordChange,
    PasswordReset,
    RefreshRequest,
    Registration,
    ResetRequest,
    RoleAssignment,
    RoleIn,
    RoleOut,
    RolePatch,
    TokenPair,
    UserOut,
    UserStatus,
)
from commerce.notifications import accounts as accounts_mail
from commerce.pages import Page

auth = APIRouter(prefix="/api/auth", tags=["identity"])
admin = APIRouter(prefix="/api", tags=["identity"], responses=responses(401, 403, 422))


@auth.post("/register", status_code=201, response_model=TokenPair, responses=responses(409, 422))
async def register(data: Registration, session: Session, identity: Identity) -> TokenPair:
    """Create a customer account and sign it in."""
    return await service.register(session, identity, data)


@auth.post("/login", response_model=TokenPair, responses=responses(401, 403, 422, 429))
async def login(
    data: Credentials,
    session: Session,
    identity: Identity,
    address: ClientAddress,
    redis: RedisClient,
    x_cart_id: Annotated[
        uuid.UUID | None, Header(description="A guest cart to merge"), UUID_HEADER
    ] = None,
) -> TokenPair:
    """Failed logins are limited per account and address, per account and per address
    (5, 20 and 100 per 15 minutes by default), then 429 with Retry-After. With X-Cart-Id,
    that guest cart merges into the account's (quantities added, 10 per product at most)."""
    signed_in = await sessions.login(session, identity, str(data.email), data.password, address)
    if x_cart_id is not None:
        await merge_guest_cart(redis, guest_key(x_cart_id), signed_in.user.id)
    return signed_in


@auth.post("/refresh", response_model=TokenPair, responses=responses(401, 422))
async def refresh(
    data: RefreshRequest, request: Request, session: Session, identity: Identity
) -> TokenPair | JSONResponse:
    """Rotate the refresh token; reusing an old one revokes the whole session."""
    result = await sessions.refresh(session, identity, data.refresh_token)
    if isinstance(result, sessions.RefreshRejected):
        # Returned, not raised: a detected reuse revokes the family, and that must commit.
        return problem(
            request, 401, "Unauthorized", result.reason, headers={"WWW-Authenticate": "Bearer"}
        )
    return result


@auth.post("/logout", status_code=204, responses=responses(401))
async def logout(principal: CurrentPrincipal, session: Session, identity: Identity) -> Response:
    await sessions.logout(session, identity, principal)
    return Response(status_code=204)


@auth.post("/password-reset", status_code=202, response_model=Accepted, responses=responses(422))
async def request_password_reset(
    data: ResetRequest, request: Request, session: Session, shop: ShopInfo
) -> Accepted:
    """Email a single-use reset link (valid 30 minutes by default) if the address has an
    account; the answer is the same either way. One email per account a minute."""
    minutes = request.app.state.settings.password_reset_minutes
    valid_for = timedelta(minutes=minutes)
    answer = await accounts_mail.email_reset_link(session, shop, data.email, valid_for)
    return Accepted(detail=answer)


@auth.post("/password-reset/confirm", status_code=204, responses=responses(400, 422))
async def reset_password(data: PasswordReset, session: Session, identity: Identity) -> Response:
    """Set a new password with the emailed token; every session of the account ends."""
    await recovery.reset_password(session, identity, data.token, data.new_password)
    return Response(status_code=204)


@auth.post("/password", status_code=204, responses=responses(401, 403, 422, 429))
async def change_password(
    data: PasswordChange,
    principal: CurrentPrincipal,
    session: Session,
    identity: Identity,
    address: ClientAddress,
) -> Response:
    """Change your password (the current one is required); your other sessions end."""
    await recovery.change_password(
        session, identity, principal, data.current_password, data.new_password, address
    )
    return Response(status_code=204)


@auth.get("/me", response_model=UserOut, responses=responses(401))
async def me(principal: CurrentPrincipal, session: Session) -> UserOut:
    return await service.me(session, principal)


RoleNamePath = Annotated[str, Path(pattern=r"^[A-Z][A-Z0-9_]{1,63}$")]


@admin.get("/permissions", response_model=list[Permission])
async def list_permissions() -> list[Permission]:
    return list(Permission)


@admin.get("/roles", response_model=list[RoleOut])
async def list_roles(session: Session) -> list[RoleOut]:
    return await roles.list_roles(session)


@admin.post("/roles", status_code=201, response_model=RoleOut, responses=responses(409))
async def create_role(data: RoleIn, session: Session) -> RoleOut:
    return await roles.create_role(session, data)


@admin.patch("/roles/{name}", response_model=RoleOut, responses=responses(404, 409))
async def update_role(name: RoleNamePath, patch: RolePatch, session: Session) -> RoleOut:
    """A revoked permission stops working within a second (role.updated drops the cache)."""
    return await roles.update_role(session, name, patch)


@admin.delete("/roles/{name}", status_code=204, responses=responses(404, 409))
async def delete_role(name: RoleNamePath, session: Session) -> Response:
    await roles.delete_role(session, name)
    return Response(status_code=204)


@admin.get("/users", response_model=Page[UserOut])
async def list_users(
    session: Session,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
    size: Annotated[int, Query(ge=1, le=100)] = 20,
) -> Page[UserOut]:
    found, total = await service.list_users(session, page, size)
    return Page[UserOut](items=found, total=total, page=page, size=size)


@admin.put("/users/{user_id}/role", response_model=UserOut, responses=responses(403, 404, 409))
async def assign_role(
    user_id: uuid.UUID,
    data: RoleAssignment,
    session: Session,
    identity: Identity,
    principal: CurrentPrincipal,
) -> UserOut:
    """Give a user a role; their sessions end so it applies at once. 403 when the user or
    the role holds permissions you lack; 409 when it would leave no active user with
    MANAGE_ROLES."""
    return await service.assign_role(session, identity, user_id, data.role, by=principal)


@admin.patch("/users/{user_id}", response_model=UserOut, responses=responses(403, 404, 409))
async def update_user(
    user_id: uuid.UUID,
    data: UserStatus,
    session: Session,
    identity: Identity,
    principal: CurrentPrincipal,
) -> UserOut:
    """Disable (or re-enable) an account; a disabled account is signed out everywhere. 403
    when the user holds permissions you lack (an ADMIN and a SUPER_ADMIN); 409 when it is
    the last active user with MANAGE_ROLES."""
    return await service.set_active(session, identity, user_id, data.active, by=principal)
