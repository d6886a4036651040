"""Accounts and sessions: register, login, refresh, logout, me."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from api.access import CurrentPrincipal
from api.deps import ClientAddress, Identity, Session
from api.problems import problem, responses
from commerce.identity import service
from commerce.identity.schemas import Credentials, RefreshRequest, Registration, TokenPair, UserOut

router = APIRouter(prefix="/api/auth", tags=["auth"])


@router.post("/register", status_code=201, response_model=TokenPair, responses=responses(409, 422))
async def register(data: Registration, session: Session, identity: Identity) -> TokenPair:
    """Create a customer account and sign it in."""
    return await service.register(session, identity, data)


@router.post("/login", response_model=TokenPair, responses=responses(401, 403, 422, 429))
async def login(
    data: Credentials, session: Session, identity: Identity, address: ClientAddress
) -> TokenPair:
    """5 failed attempts per 15 minutes per account and per address, then 429 + Retry-After."""
    return await service.login(session, identity, str(data.email), data.password, address)


@router.post("/refresh", response_model=TokenPair, responses=responses(401, 422))
async def refresh(
    data: RefreshRequest, request: Request, session: Session, identity: Identity
) -> TokenPair | JSONResponse:
    """Rotate the refresh token; reusing an old one revokes the whole session."""
    result = await service.refresh(session, identity, data.refresh_token)
    if isinstance(result, service.RefreshRejected):
        # Returned, not raised: a detected reuse revokes the family, and that must commit.
        return problem(
            request, 401, "Unauthorized", result.reason, headers={"WWW-Authenticate": "Bearer"}
        )
    return result


@router.post("/logout", status_code=204, responses=responses(401))
async def logout(principal: CurrentPrincipal, session: Session, identity: Identity) -> Response:
    await service.logout(session, identity, principal)
    return Response(status_code=204)


@router.get("/me", response_model=UserOut, responses=responses(401))
async def me(principal: CurrentPrincipal, session: Session) -> UserOut:
    return await service.me(session, principal)
