"""From commerce's events and current state to search documents."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from datetime import UTC
from typing import Any

from commerce.events import Envelope, ProductSnapshot
from search.prices import to_cents
from search.query import DocumentVariant, ProductDocument


def index_fields(doc: ProductDocument) -> dict[str, Any]:
    """A document's fields as every engine indexes them (prices as exact US cents)."""
    slugs = doc.category_path.split("/")
    return {
        "id": str(doc.id),
        "sku": doc.sku,
        "brand": doc.brand,
        "category": doc.category,
        "category_slugs": slugs,
        "category_paths": doc.category_paths(),
        "name": doc.name,
        "brand_text": doc.brand,
        "category_text": " ".join(slug.replace("-", " ") for slug in slugs),
        "description": doc.description,
        "option_values": doc.option_values(),
        "option_values_in_stock": doc.option_values(in_stock=True),
        "option_combinations": doc.option_combinations(),
        "option_combinations_in_stock": doc.option_combinations(in_stock=True),
        "price": to_cents(doc.price),
        "price_max": to_cents(doc.price_max),
        "rating": float(doc.rating),
        "in_stock": int(doc.in_stock),
        "available": doc.available,
        "created_at": int(doc.created_at.astimezone(UTC).timestamp()),
        "units_sold": doc.units_sold,
        "version": doc.version,
    }


def affected_products(events: list[Envelope]) -> set[uuid.UUID]:
    """The products whose search documents these events may change (a sale changes stock,
    and the stock event names the product)."""
    ids: set[uuid.UUID] = set()
    for event in events:
        if event.type.startswith("product."):
            ids.add(uuid.UUID(event.aggregate_id))
        elif event.type.startswith("stock."):
            ids.add(uuid.UUID(str(event.payload["product_id"])))
    return ids


def document(
    product: ProductSnapshot, available: Mapping[uuid.UUID, int], units_sold: int = 0
) -> ProductDocument:
    """The search document of a product: its snapshot's fields and attributes, its variants'
    options and prices, the available units of each variant and its recent sales."""
    variants = [
        DocumentVariant(
            options=variant.options,
            price=variant.price_or(product.price),
            available=available.get(variant.id, 0),
        )
        for variant in product.variants
    ]
    prices = [variant.price for variant in variants] or [product.price]
    return ProductDocument.model_validate(
        {
            **product.model_dump(exclude={"variants"}),
            "price": min(prices),
            "available": sum(variant.available for variant in variants),
            "variants": variants,
            "units_sold": units_sold,
        }
    )


def index_changes(
    product_ids: Iterable[uuid.UUID],
    current: Mapping[uuid.UUID, tuple[ProductSnapshot, Mapping[uuid.UUID, int]]],
    sold: Mapping[uuid.UUID, int] | None = None,
) -> tuple[list[ProductDocument], list[uuid.UUID]]:
    """What to upsert and what to delete so these products' documents match `current`."""
    ids = list(product_ids)
    sold = sold or {}
    upserts = [
        document(p, available, sold.get(p.id, 0))
        for p, available in current.values()
        if not p.deleted
    ]
    deletes = [pid for pid in ids if pid not in current or current[pid][0].deleted]
    return upserts, deletes
