"""Catalog: browse products, brands and categories (cached), and manage products."""

from __future__ import annotations

import uuid
from typing import Annotated

import orjson
from fastapi import APIRouter, Query, Request, Response

from api.deps import Cache, Currency, Session, Sessions, rate_table
from api.problems import responses
from commerce.catalog import service, variants
from commerce.catalog.schemas import (
    BrandOut,
    CategoryOut,
    ProductIn,
    ProductOut,
    ProductPatch,
    VariantIn,
    VariantOut,
    VariantPatch,
)
from commerce.currency.money import BASE_CURRENCY
from commerce.currency.pricing import Pricing
from commerce.pages import Page

router = APIRouter(tags=["catalog"])

SlugParam = Annotated[str | None, Query(pattern=r"^[a-z0-9][a-z0-9-]{0,79}$")]
ADMIN_ERRORS = responses(401, 403, 422)
#: Cached pages are served as the JSON they were stored as (the response_model documents them).
JSON = "application/json"


@router.get("/api/products", response_model=Page[ProductOut], responses=responses(404, 422))
async def list_products(
    request: Request,
    sessions: Sessions,
    cache: Cache,
    currency: Currency,
    category: SlugParam = None,
    brand: SlugParam = None,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
    size: Annotated[int, Query(ge=1, le=100)] = 20,
) -> Response:
    """Live products, newest first, under a category's subtree and/or of a brand (by slug)."""
    page_json = await service.browse_products(
        sessions, cache, category=category, brand=brand, page=page, size=size
    )
    if currency == BASE_CURRENCY:
        return Response(page_json, media_type=JSON)  # the cached bytes as they are
    prices = Pricing(await rate_table(request), currency)
    found = orjson.loads(page_json)
    found["items"] = [prices.product(item) for item in found["items"]]
    return Response(orjson.dumps(found), media_type=JSON)


@router.get("/api/products/{product_id}", response_model=ProductOut, responses=responses(404, 422))
async def get_product(
    request: Request, product_id: uuid.UUID, sessions: Sessions, cache: Cache, currency: Currency
) -> Response:
    """A product with its variants; `currency=` (or Accept-Currency) converts its prices
    at the day's reference rate and names that rate's day (`rate_date`)."""
    product_json = await service.show_product(sessions, cache, product_id)
    if currency == BASE_CURRENCY:
        return Response(product_json, media_type=JSON)
    prices = Pricing(await rate_table(request), currency)
    return Response(orjson.dumps(prices.product(orjson.loads(product_json))), media_type=JSON)


@router.get("/api/brands", response_model=list[BrandOut])
async def list_brands(session: Session) -> list[BrandOut]:
    return await service.list_brands(session)


@router.get("/api/categories", response_model=list[CategoryOut])
async def list_categories(session: Session) -> list[CategoryOut]:
    """The category tree, flattened in path order."""
    return await service.list_categories(session)


@router.post(
    "/api/admin/products",
    status_code=201,
    response_model=ProductOut,
    responses={**ADMIN_ERRORS, **responses(409)},
)
async def create_product(data: ProductIn, session: Session) -> ProductOut:
    return await service.create_product(session, data)


@router.patch(
    "/api/admin/products/{product_id}",
    response_model=ProductOut,
    responses={**ADMIN_ERRORS, **responses(404)},
)
async def update_product(
    product_id: uuid.UUID, patch: ProductPatch, session: Session
) -> ProductOut:
    return await service.update_product(session, product_id, patch)


@router.delete(
    "/api/admin/products/{product_id}",
    status_code=204,
    responses={**ADMIN_ERRORS, **responses(404)},
)
async def delete_product(product_id: uuid.UUID, session: Session) -> Response:
    await service.delete_product(session, product_id)
    return Response(status_code=204)


@router.get(
    "/api/admin/products/{product_id}/variants",
    response_model=list[VariantOut],
    responses={**ADMIN_ERRORS, **responses(404)},
)
async def list_variants(product_id: uuid.UUID, session: Session) -> list[VariantOut]:
    return await variants.list_variants(session, product_id)


@router.post(
    "/api/admin/products/{product_id}/variants",
    status_code=201,
    response_model=VariantOut,
    responses={**ADMIN_ERRORS, **responses(404, 409)},
)
async def add_variant(product_id: uuid.UUID, data: VariantIn, session: Session) -> VariantOut:
    """A new variant: its own SKU and a value for each of the product's options."""
    return await variants.add_variant(session, product_id, data)


@router.patch(
    "/api/admin/products/{product_id}/variants/{variant_id}",
    response_model=VariantOut,
    responses={**ADMIN_ERRORS, **responses(404, 409)},
)
async def update_variant(
    product_id: uuid.UUID, variant_id: uuid.UUID, patch: VariantPatch, session: Session
) -> VariantOut:
    return await variants.update_variant(session, product_id, variant_id, patch)


@router.delete(
    "/api/admin/products/{product_id}/variants/{variant_id}",
    status_code=204,
    responses={**ADMIN_ERRORS, **responses(404, 409)},
)
async def delete_variant(
    product_id: uuid.UUID, variant_id: uuid.UUID, session: Session
) -> Response:
    """Retire a variant without stock on hand; the product's last variant stays."""
    await variants.delete_variant(session, product_id, variant_id)
    return Response(status_code=204)
