"""Browse: products, brands and categories, cached in Redis."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import Cache, Session
from api.problems import responses
from commerce.catalog import service
from commerce.catalog.schemas import BrandOut, CategoryOut, Page, ProductOut

router = APIRouter(prefix="/api", tags=["catalog"])

SlugParam = Annotated[str | None, Query(pattern=r"^[a-z0-9][a-z0-9-]{0,79}$")]


@router.get("/products", response_model=Page[ProductOut], responses=responses(404, 422))
async def list_products(
    session: Session,
    cache: Cache,
    category: SlugParam = None,
    brand: SlugParam = None,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
    size: Annotated[int, Query(ge=1, le=100)] = 20,
) -> Page[ProductOut]:
    """Live products, newest first, under a category's subtree and/or of a brand (by slug)."""
    params = f"category={category}&brand={brand}&page={page}&size={size}"
    return await cache.page(
        params,
        lambda: service.list_products(
            session, category=category, brand=brand, page=page, size=size
        ),
    )


@router.get("/products/{product_id}", response_model=ProductOut, responses=responses(404, 422))
async def get_product(product_id: uuid.UUID, session: Session, cache: Cache) -> ProductOut:
    return await cache.item(product_id, lambda: service.get_product(session, product_id))


@router.get("/brands", response_model=list[BrandOut])
async def list_brands(session: Session) -> list[BrandOut]:
    return await service.list_brands(session)


@router.get("/categories", response_model=list[CategoryOut])
async def list_categories(session: Session) -> list[CategoryOut]:
    """The category tree, flattened in path order."""
    return await service.list_categories(session)
