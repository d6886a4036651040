"""From commerce's events and current state to search documents."""

from __future__ import annotations

import uuid

from commerce.events import Envelope, ProductSnapshot
from search.query import ProductDocument


def affected_products(events: list[Envelope]) -> set[uuid.UUID]:
    """The products whose search documents these events may change."""
    ids: set[uuid.UUID] = set()
    for event in events:
        if event.type.startswith("product."):
            ids.add(uuid.UUID(event.aggregate_id))
        elif event.type.startswith("stock."):
            ids.add(uuid.UUID(str(event.payload["product_id"])))
    return ids


def document(product: ProductSnapshot, available: int) -> ProductDocument:
    return ProductDocument(
        id=product.id,
        sku=product.sku,
        name=product.name,
        description=product.description,
        brand=product.brand,
        category=product.category,
        category_path=product.category_path,
        price=product.price,
        rating=product.rating,
        available=available,
        created_at=product.created_at,
        version=product.version,
    )
