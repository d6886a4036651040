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
    """The search document of a product: its snapshot's fields plus available stock."""
    return ProductDocument.model_validate({**product.model_dump(), "available": available})
