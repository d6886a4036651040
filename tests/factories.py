"""Small async factories with keyword arguments, going through the real API."""

from __future__ import annotations

import uuid
from typing import Any

import httpx


def word(prefix: str = "zq") -> str:
    """A made-up word that matches nothing else in the index."""
    return f"{prefix}{uuid.uuid4().hex[:10]}"


async def create_product(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    *,
    request_id: str | None = None,
    **fields: Any,
) -> dict[str, Any]:
    body = {
        "sku": f"T-{uuid.uuid4().hex[:12]}",
        "name": f"{word()} Lantern",
        "description": "A sturdy lantern for camping trips.",
        "brand": f"Brand {word('b')}",
        "category": "camping",
        "price": "49.90",
        "rating": 4.2,
        **fields,
    }
    if request_id is not None:
        headers = {**headers, "X-Request-ID": request_id}
    response = await client.post("/api/admin/products", json=body, headers=headers)
    assert response.status_code == 201, response.text
    product: dict[str, Any] = response.json()
    return product


async def set_stock(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    sku: str,
    quantity: int,
    warehouse: str = "berlin",
) -> dict[str, Any]:
    response = await client.patch(
        f"/api/admin/inventory/{sku}/stock",
        json={"warehouse": warehouse, "quantity": quantity, "reason": "test count"},
        headers=headers,
    )
    assert response.status_code == 200, response.text
    stock: dict[str, Any] = response.json()
    return stock


async def search(client: httpx.AsyncClient, **params: Any) -> dict[str, Any]:
    response = await client.get("/api/search", params=params)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result
