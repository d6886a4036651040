"""Coupon codes for catalog managers: create, list, change and archive."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response

from api.deps import Session
from api.problems import responses
from commerce.pages import Page
from commerce.promotions import service
from commerce.promotions.schemas import CouponIn, CouponOut, CouponPatch

router = APIRouter(tags=["promotions"])

ERRORS = responses(401, 403, 422)


@router.post(
    "/api/admin/coupons",
    status_code=201,
    response_model=CouponOut,
    responses={**ERRORS, **responses(409)},
)
async def create_coupon(data: CouponIn, session: Session) -> CouponOut:
    """A new code: percentage or fixed amount, with optional dates, limits and restrictions."""
    return await service.create_coupon(session, data)


@router.get("/api/admin/coupons", response_model=Page[CouponOut], responses=ERRORS)
async def list_coupons(
    session: Session,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
    size: Annotated[int, Query(ge=1, le=100)] = 20,
) -> Page[CouponOut]:
    """Live (not archived) coupons, newest first, each with how often it has been used."""
    return await service.list_coupons(session, page=page, size=size)


@router.get(
    "/api/admin/coupons/{coupon_id}",
    response_model=CouponOut,
    responses={**ERRORS, **responses(404)},
)
async def get_coupon(coupon_id: uuid.UUID, session: Session) -> CouponOut:
    return await service.show_coupon(session, coupon_id)


@router.patch(
    "/api/admin/coupons/{coupon_id}",
    response_model=CouponOut,
    responses={**ERRORS, **responses(404)},
)
async def update_coupon(coupon_id: uuid.UUID, patch: CouponPatch, session: Session) -> CouponOut:
    """Change a coupon's value, dates, limits or restrictions (its code and kind stay)."""
    return await service.update_coupon(session, coupon_id, patch)


@router.delete(
    "/api/admin/coupons/{coupon_id}",
    status_code=204,
    responses={**ERRORS, **responses(404)},
)
async def archive_coupon(coupon_id: uuid.UUID, session: Session) -> Response:
    """Archive a coupon: it stops applying, its uses stay on record, its code is free again."""
    await service.archive_coupon(session, coupon_id)
    return Response(status_code=204)
