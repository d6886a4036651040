"""From commerce's events and current state to search documents."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping

from commerce.events import Envelope, ProductSnapshot
from search.query import DocumentVariant, ProductDocument


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
