"""Bad input on every endpoint gets a 4xx RFC 9457 problem response, never a 500."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.factories import create_product

pytestmark = pytest.mark.usefixtures("reference")
MISSING = str(uuid.uuid4())

PUBLIC_CASES: list[tuple[str, str, dict[str, Any] | None, int]] = [
    ("GET", "/api/search?page=0", None, 422),
    ("GET", "/api/search?page=abc", None, 422),
    ("GET", "/api/search?size=1000", None, 422),
    ("GET", "/api/search?size=-1", None, 422),
    ("GET", "/api/search?page=500&size=100", None, 422),
    ("GET", "/api/search?price_min=-5", None, 422),
    ("GET", "/api/search?price_min=nan", None, 422),
    ("GET", "/api/search?price_max=1e400", None, 422),
    ("GET", "/api/search?price_min=50&price_max=10", None, 422),
    ("GET", "/api/search?in_stock=maybe", None, 422),
    ("GET", "/api/search?sort=cheapest", None, 422),
    ("GET", "/api/search?category=Not%20A%20Slug", None, 422),
    ("GET", "/api/search?q=" + "x" * 201, None, 422),
    ("GET", "/api/products?page=0", None, 422),
    ("GET", "/api/products?size=101", None, 422),
    ("GET", "/api/products?category=nope-not-there", None, 404),
    ("GET", "/api/products?brand=%00", None, 422),
    ("GET", "/api/products/not-a-uuid", None, 422),
    ("GET", f"/api/products/{MISSING}", None, 404),
    ("GET", "/api/no-such-route", None, 404),
    ("POST", "/api/search", None, 405),
]

ADMIN_CASES: list[tuple[str, str, dict[str, Any] | None, int]] = [
    ("POST", "/api/admin/products", {}, 422),
    (
        "POST",
        "/api/admin/products",
        {"sku": "bad sku!", "name": "x", "brand": "b", "category": "camping", "price": "1"},
        422,
    ),
    (
        "POST",
        "/api/admin/products",
        {"sku": "OK-1", "name": "x", "brand": "b", "category": "camping", "price": "-1"},
        422,
    ),
    (
        "POST",
        "/api/admin/products",
        {"sku": "OK-1", "name": "x", "brand": "b", "category": "camping", "price": "1.999"},
        422,
    ),
    (
        "POST",
        "/api/admin/products",
        {"sku": "OK-1", "name": "x", "brand": "b", "category": "unknown-category", "price": "1"},
        422,
    ),
    (
        "POST",
        "/api/admin/products",
        {"sku": "OK-1", "name": "", "brand": "b", "category": "camping", "price": "1"},
        422,
    ),
    (
        "POST",
        "/api/admin/products",
        {
            "sku": "OK-1",
            "name": "x",
            "brand": "b",
            "category": "camping",
            "price": "1",
            "rating": 9,
        },
        422,
    ),
    (
        "POST",
        "/api/admin/products",
        {
            "sku": "OK-1",
            "name": "x",
            "brand": "b",
            "category": "camping",
            "price": "1",
            "colour": "red",
        },
        422,
    ),
    ("PATCH", f"/api/admin/products/{MISSING}", {"name": "x"}, 404),
    ("PATCH", "/api/admin/products/not-a-uuid", {"name": "x"}, 422),
    ("DELETE", f"/api/admin/products/{MISSING}", None, 404),
    (
        "PATCH",
        "/api/admin/inventory/NOPE-404/stock",
        {"warehouse": "berlin", "quantity": 1, "reason": "count"},
        404,
    ),
    (
        "PATCH",
        "/api/admin/inventory/bad%20sku/stock",
        {"warehouse": "berlin", "quantity": 1, "reason": "count"},
        422,
    ),
    ("GET", "/api/admin/inventory/NOPE-404", None, 404),
]


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["title"]
    assert body["type"] == "about:blank"
    return body


@pytest.mark.parametrize(("method", "url", "body", "status"), PUBLIC_CASES)
async def test_public_bad_input(
    client: httpx.AsyncClient, method: str, url: str, body: dict[str, Any] | None, status: int
) -> None:
    assert_problem(await client.request(method, url, json=body), status)


@pytest.mark.parametrize(("method", "url", "body", "status"), ADMIN_CASES)
async def test_admin_bad_input(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    method: str,
    url: str,
    body: dict[str, Any] | None,
    status: int,
) -> None:
    assert_problem(await client.request(method, url, json=body, headers=admin), status)


@pytest.mark.parametrize(
    "headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic x"}]
)
async def test_admin_routes_need_the_token(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    response = await client.post("/api/admin/products", json={}, headers=headers)
    assert_problem(response, 401)
    assert response.headers["www-authenticate"] == "Bearer"


async def test_malformed_json_is_a_400_as_documented(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    response = await client.post(
        "/api/admin/products",
        content=b"{not json",
        headers={**admin, "content-type": "application/json"},
    )
    assert assert_problem(response, 400)["errors"][0]["type"] == "json_invalid"
    documented = (await client.get("/openapi.json")).json()
    assert "400" in documented["paths"]["/api/admin/products"]["post"]["responses"]


class Streamed:
    """A chunked body of `total` bytes that counts how much of it the server pulled."""

    def __init__(self, total: int, chunk: int = 64 * 1024) -> None:
        self.total, self.chunk, self.sent = total, chunk, 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while self.sent < self.total:
            self.sent += self.chunk
            yield b" " * self.chunk


async def test_a_body_over_the_limit_is_refused_while_it_streams(
    client: httpx.AsyncClient,
) -> None:
    body = Streamed(64 * 2**20)
    response = await client.post(
        "/api/auth/login", content=body, headers={"content-type": "application/json"}
    )
    assert assert_problem(response, 413)
    assert body.sent <= 2 * 2**20  # stopped at the 1 MiB limit, not after reading it all


async def test_a_declared_length_over_the_limit_is_refused_before_reading(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post("/api/auth/login", json={"email": "a" * 2**20, "password": "x"})
    assert_problem(response, 413)


async def test_the_import_takes_more_than_a_megabyte_but_not_without_limit(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    csv_headers = {**admin, "content-type": "text/csv"}
    two_megabytes = b"sku,name\n" + b"x" * 2 * 2**20
    response = await client.post("/api/admin/imports", content=two_megabytes, headers=csv_headers)
    assert_problem(response, 422)  # read and checked: the file is bad, not too large
    body = Streamed(100 * 2**20, chunk=2**20)
    response = await client.post("/api/admin/imports", content=body, headers=csv_headers)
    assert_problem(response, 413)
    assert body.sent <= 66 * 2**20


async def test_duplicate_sku_conflicts(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    product = await create_product(client, admin)
    response = await client.post(
        "/api/admin/products",
        json={
            "sku": product["sku"],
            "name": "Other",
            "brand": "Acme",
            "category": "camping",
            "price": "3.00",
        },
        headers=admin,
    )
    assert "already exists" in assert_problem(response, 409)["detail"]


@pytest.mark.parametrize(
    "change",
    [
        {"warehouse": "berlin", "reason": "no amount"},
        {"warehouse": "berlin", "quantity": 1, "delta": 1, "reason": "both"},
        {"warehouse": "berlin", "delta": 0, "reason": "zero"},
        {"warehouse": "berlin", "quantity": -1, "reason": "negative"},
        {"warehouse": "berlin", "quantity": 1, "reason": ""},
        {"warehouse": "atlantis", "quantity": 1, "reason": "unknown warehouse"},
    ],
)
async def test_bad_stock_changes(
    client: httpx.AsyncClient, admin: dict[str, str], change: dict[str, Any]
) -> None:
    product = await create_product(client, admin)
    response = await client.patch(
        f"/api/admin/inventory/{product['sku']}/stock", json=change, headers=admin
    )
    assert_problem(response, 422)


async def test_stock_never_goes_negative(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    product = await create_product(client, admin)
    url = f"/api/admin/inventory/{product['sku']}/stock"
    await client.patch(
        url, json={"warehouse": "osaka", "quantity": 2, "reason": "count"}, headers=admin
    )

    response = await client.patch(
        url, json={"warehouse": "osaka", "delta": -3, "reason": "shrinkage"}, headers=admin
    )

    assert_problem(response, 409)
    stock = (await client.get(f"/api/admin/inventory/{product['sku']}", headers=admin)).json()
    assert stock["available"] == 2


async def test_stock_change_writes_ledger_and_outbox_in_one_transaction(
    client: httpx.AsyncClient, admin: dict[str, str], sessions: Any
) -> None:
    from sqlalchemy import text

    product = await create_product(client, admin)
    url = f"/api/admin/inventory/{product['sku']}/stock"
    await client.patch(
        url, json={"warehouse": "dallas", "quantity": 10, "reason": "delivery"}, headers=admin
    )
    await client.patch(
        url, json={"warehouse": "dallas", "delta": -4, "reason": "damaged"}, headers=admin
    )

    async with sessions() as session:
        ledger = (
            await session.execute(
                text(
                    "SELECT delta, on_hand_after, reason FROM stock_movements "
                    "WHERE product_id = :id ORDER BY id"
                ),
                {"id": product["id"]},
            )
        ).all()
        events = (
            await session.execute(
                text(
                    "SELECT event->'payload'->>'delta' FROM outbox "
                    "WHERE key = :sku AND topic = 'inventory' ORDER BY seq"
                ),
                {"sku": product["sku"]},
            )
        ).all()
    assert [tuple(row) for row in ledger] == [(10, 10, "delivery"), (-4, 6, "damaged")]
    assert [row[0] for row in events] == ["10", "-4"]


async def test_openapi_documents_problem_responses(client: httpx.AsyncClient) -> None:
    schema = (await client.get("/openapi.json")).json()
    login = schema["paths"]["/api/auth/login"]["post"]["responses"]
    assert {"401", "422", "429"} <= login.keys()
    assert "application/problem+json" in login["429"]["content"]
    assert (await client.get("/docs")).status_code == 200


@pytest.mark.parametrize(
    ("method", "url", "body"),
    [
        ("GET", "/api/search?q=lamp%00", None),
        ("GET", "/api/products?brand=acme%00", None),
        (
            "POST",
            "/api/admin/products",
            {
                "sku": "NUL-1",
                "name": "La\u0000mp",
                "brand": "Acme",
                "category": "lighting",
                "price": "1.00",
            },
        ),
        (
            "POST",
            "/api/admin/products",
            {
                "sku": "NUL-2",
                "name": "Lamp",
                "brand": "Acme",
                "category": "lighting",
                "price": "1.00",
                "attributes": {"colour\u0000": "red"},
            },
        ),
    ],
)
async def test_nul_characters_are_refused(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    method: str,
    url: str,
    body: dict[str, Any] | None,
) -> None:
    content = None if body is None else json.dumps(body)  # the NUL travels as \u0000
    response = await client.request(
        method, url, content=content, headers={**admin, "content-type": "application/json"}
    )
    assert "NUL" in assert_problem(response, 422)["detail"]
