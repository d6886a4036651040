"""The OpenAPI document tells generated clients the truth (found by schemathesis --checks all)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from api.access import POLICY, PUBLIC, api_routes

pytestmark = pytest.mark.usefixtures("reference")


@pytest.fixture
async def document(client: httpx.AsyncClient) -> dict[str, Any]:
    response = await client.get("/openapi.json")
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


def operations(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        operation["operationId"].rsplit("_api", 1)[0].rsplit("_metrics", 1)[0]: operation
        for methods in document["paths"].values()
        for operation in methods.values()
    }


async def test_only_guarded_routes_declare_bearer_auth(
    client: httpx.AsyncClient, document: dict[str, Any]
) -> None:
    app = client._transport.app  # type: ignore[attr-defined]
    declared: dict[tuple[str, str], Any] = {}
    for route in api_routes(app.routes):
        if not route.include_in_schema:  # the /admin page
            continue
        (method,) = route.methods
        operation = document["paths"][route.path_format][method.lower()]
        declared[(method, route.path)] = operation.get("security")
        assert not any(
            p.get("name", "").lower() == "authorization" for p in operation.get("parameters", [])
        ), f"{method} {route.path} declares an Authorization parameter"
    public = {key for key, rule in POLICY.items() if rule is PUBLIC} - {("GET", "/admin")}
    assert {name for name, security in declared.items() if security is None} == public
    assert document["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"


async def test_every_body_route_documents_400_for_malformed_json(
    client: httpx.AsyncClient, document: dict[str, Any]
) -> None:
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            if "application/json" in operation.get("requestBody", {}).get("content", {}):
                assert "400" in operation["responses"], f"{method.upper()} {path}"
    response = await client.post(  # bytes that do not even decode: 400 (bad JSON text is 422)
        "/api/auth/register", content=b"\x80not utf-8", headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_options_and_405_list_every_method_of_the_path(client: httpx.AsyncClient) -> None:
    options = await client.options("/api/roles/SOME_ROLE")
    assert options.status_code == 204
    assert set(options.headers["allow"].split(", ")) == {"PATCH", "DELETE", "OPTIONS"}

    wrong = await client.put("/api/admin/products/00000000-0000-4000-8000-000000000000")
    assert wrong.status_code == 405
    assert set(wrong.headers["allow"].split(", ")) == {"PATCH", "DELETE", "OPTIONS"}
    assert wrong.headers["content-type"].startswith("application/problem+json")

    # `read` is no notification id: PATCH is not allowed there (it was a 422 for a bad id).
    patched = await client.patch("/api/me/notifications/read", json={"read": True})
    assert patched.status_code == 405
    assert set(patched.headers["allow"].split(", ")) == {"POST", "OPTIONS"}

    roles = await client.options("/api/roles")
    assert set(roles.headers["allow"].split(", ")) == {"GET", "POST", "OPTIONS"}
    assert (await client.options("/api/no-such-path")).status_code == 404


async def test_constraints_the_server_enforces_are_in_the_schema(
    document: dict[str, Any],
) -> None:
    schemas = document["components"]["schemas"]
    assert schemas["Registration"]["properties"]["password"]["minLength"] == 10
    brand = schemas["ProductIn"]["properties"]["brand"]
    assert brand["minLength"] == 1 and brand["pattern"] == r"^[^\x00]*\S[^\x00]*$"
    price = schemas["ProductIn"]["properties"]["price"]["anyOf"]
    assert {branch["type"] for branch in price} == {"integer", "string"}


async def test_currencies_are_the_eight_codes_in_any_case_in_schema_and_server(
    client: httpx.AsyncClient, document: dict[str, Any]
) -> None:
    import re

    from commerce.currency.money import SUPPORTED

    parameters = document["paths"]["/api/products"]["get"]["parameters"]
    by_name = {p["name"]: p["schema"] for p in parameters}
    pattern = re.compile(by_name["currency"]["pattern"])
    assert by_name["accept-currency"]["pattern"] == pattern.pattern
    for code in SUPPORTED:
        assert pattern.fullmatch(code) and pattern.fullmatch(code.lower())
        answer = await client.get("/api/products", params={"currency": code.lower(), "size": 1})
        assert answer.status_code == 200, answer.text
    for other in ("CHF", "US", "usdx", " EUR"):
        assert not pattern.fullmatch(other)
    assert pattern.fullmatch(""), "empty is the default, as the server takes it"
    refused = await client.get("/api/products", params={"currency": "CHF"})
    assert refused.status_code == 422 and "EUR" in refused.json()["detail"]


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"brand": "   "}, 422),  # blank after stripping: the schema's pattern says so too
        ({"price": "0.00"}, 422),
        ({"price": "12.345"}, 422),
        ({"price": 12}, 201),
        ({"price": "12.34"}, 201),
    ],
)
async def test_the_server_agrees_with_the_schema(
    client: httpx.AsyncClient, admin: dict[str, str], body: dict[str, Any], status: int
) -> None:
    import uuid

    product = {
        "sku": f"S-{uuid.uuid4().hex[:10]}",
        "name": "Schema Lamp",
        "brand": "Acme",
        "category": "lighting",
        "price": "5.00",
        **body,
    }
    response = await client.post("/api/admin/products", json=product, headers=admin)
    assert response.status_code == status, response.text


async def test_stock_change_takes_exactly_one_of_quantity_or_delta_never_null(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    from tests.factories import create_product

    sku = (await create_product(client, admin))["sku"]

    async def change(body: dict[str, Any]) -> int:
        body = {"warehouse": "berlin", "reason": "count", **body}
        url = f"/api/admin/inventory/{sku}/stock"
        return (await client.patch(url, json=body, headers=admin)).status_code

    assert await change({"quantity": 3}) == 200
    assert await change({"delta": 2}) == 200
    assert await change({"quantity": 3, "delta": 2}) == 422
    assert await change({"quantity": None, "delta": 2}) == 422
    assert await change({"delta": 0}) == 422


async def test_a_repeated_permission_is_accepted_once(
    client: httpx.AsyncClient, accounts: dict[str, dict[str, str]]
) -> None:
    import uuid

    body = {
        "name": f"DUP_{uuid.uuid4().hex[:8].upper()}",
        "permissions": ["VIEW_DASHBOARD", "VIEW_DASHBOARD"],
    }
    response = await client.post("/api/roles", json=body, headers=accounts["SUPER_ADMIN"])
    assert response.status_code == 201, response.text
    assert response.json()["permissions"] == ["VIEW_DASHBOARD"]
