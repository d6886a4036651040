"""Every route, for every kind of caller gets exactly the expected status.

The matrix is written out here, independently of api/access.py, and a test fails when the
app has a route the matrix does not list.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from api.access import api_routes, route_keys
from tests.checkout import ADDRESS
from tests.conftest import PASSWORD, eventually, sign_in
from tests.factories import create_product, set_stock

pytestmark = pytest.mark.usefixtures("reference", "worker")

ANONYMOUS = "ANONYMOUS"
CALLERS = (ANONYMOUS, "CUSTOMER", "STAFF", "ADMIN", "SUPER_ADMIN")
EVERYONE = frozenset(CALLERS)
SIGNED_IN = EVERYONE - {ANONYMOUS}
CATALOG_ADMINS = frozenset({"STAFF", "ADMIN", "SUPER_ADMIN"})
USER_ADMINS = frozenset({"ADMIN", "SUPER_ADMIN"})
ROLE_ADMINS = frozenset({"SUPER_ADMIN"})
DASHBOARD_VIEWERS = frozenset({"STAFF", "ADMIN", "SUPER_ADMIN"})
ORDER_STAFF = frozenset({"STAFF", "ADMIN", "SUPER_ADMIN"})
#: CREATE_ORDER: customers, and admins (STAFF manage orders but do not buy).
BUYERS = frozenset({"CUSTOMER", "ADMIN", "SUPER_ADMIN"})
#: The CUSTOMER account owns the orders the matrix builds.
OWNER = frozenset({"CUSTOMER"})
#: Requests come from another machine.
REMOTE = ("203.0.113.7", 50000)

Request = tuple[str, str, dict[str, Any] | bytes | None]


@dataclass
class World:
    client: httpx.AsyncClient
    accounts: dict[str, dict[str, str]]

    @property
    def root(self) -> dict[str, str]:
        return self.accounts["SUPER_ADMIN"]

    async def product(self) -> dict[str, Any]:
        return await create_product(self.client, self.accounts["ADMIN"])

    async def sized_product(self) -> dict[str, Any]:
        """A product with a size option and two variants (S and M)."""
        sku = f"SZ-{uuid.uuid4().hex[:10]}"
        body = {
            "sku": sku,
            "name": "Matrix Shirt",
            "brand": "Acme",
            "category": "lighting",
            "price": "5.00",
            "options": ["size"],
            "variants": [
                {"sku": f"{sku}-S", "options": {"size": "S"}},
                {"sku": f"{sku}-M", "options": {"size": "M"}},
            ],
        }
        response = await self.client.post(
            "/api/admin/products", json=body, headers=self.accounts["ADMIN"]
        )
        assert response.status_code == 201, response.text
        product: dict[str, Any] = response.json()
        return product

    async def role(self) -> str:
        name = f"MATRIX_{uuid.uuid4().hex[:8].upper()}"
        response = await self.client.post(
            "/api/roles", json={"name": name, "permissions": []}, headers=self.root
        )
        assert response.status_code == 201, response.text
        return name

    async def registered(self) -> dict[str, Any]:
        body = {
            "email": f"m{uuid.uuid4().hex[:10]}@example.com",
            "password": PASSWORD,
            "first_name": "Mat",
            "last_name": "Rix",
        }
        response = await self.client.post("/api/auth/register", json=body)
        assert response.status_code == 201, response.text
        return {**response.json(), "email": body["email"]}


Build = Callable[[World], Awaitable[Request]]


def fixed(method: str, url: str, body: dict[str, Any] | None = None) -> Build:
    async def build(world: World) -> Request:
        return method, url, body

    return build


async def _get_product(w: World) -> Request:
    return "GET", f"/api/products/{(await w.product())['id']}", None


async def _register(w: World) -> Request:
    return (
        "POST",
        "/api/auth/register",
        {
            "email": f"m{uuid.uuid4().hex[:10]}@example.com",
            "password": PASSWORD,
            "first_name": "Mat",
            "last_name": "Rix",
        },
    )


async def _login(w: World) -> Request:
    return (
        "POST",
        "/api/auth/login",
        {"email": (await w.registered())["email"], "password": PASSWORD},
    )


async def _refresh(w: World) -> Request:
    return "POST", "/api/auth/refresh", {"refresh_token": (await w.registered())["refresh_token"]}


async def _create_role(w: World) -> Request:
    return (
        "POST",
        "/api/roles",
        {"name": f"NEW_{uuid.uuid4().hex[:8].upper()}", "permissions": ["VIEW_DASHBOARD"]},
    )


async def _update_role(w: World) -> Request:
    return "PATCH", f"/api/roles/{await w.role()}", {"description": "changed"}


async def _delete_role(w: World) -> Request:
    return "DELETE", f"/api/roles/{await w.role()}", None


async def _assign_role(w: World) -> Request:
    return "PUT", f"/api/users/{(await w.registered())['user']['id']}/role", {"role": "STAFF"}


async def _update_user(w: World) -> Request:
    return "PATCH", f"/api/users/{(await w.registered())['user']['id']}", {"active": False}


async def _create_product(w: World) -> Request:
    return (
        "POST",
        "/api/admin/products",
        {
            "sku": f"M-{uuid.uuid4().hex[:10]}",
            "name": "Matrix Lamp",
            "brand": "Acme",
            "category": "lighting",
            "price": "5.00",
        },
    )


async def _update_product(w: World) -> Request:
    return "PATCH", f"/api/admin/products/{(await w.product())['id']}", {"price": "6.00"}


async def _delete_product(w: World) -> Request:
    return "DELETE", f"/api/admin/products/{(await w.product())['id']}", None


async def _list_variants(w: World) -> Request:
    return "GET", f"/api/admin/products/{(await w.product())['id']}/variants", None


async def _add_variant(w: World) -> Request:
    product = await w.sized_product()
    body = {"sku": f"{product['sku']}-L", "options": {"size": "L"}}
    return "POST", f"/api/admin/products/{product['id']}/variants", body


async def _update_variant(w: World) -> Request:
    product = await w.sized_product()
    url = f"/api/admin/products/{product['id']}/variants/{product['variants'][0]['id']}"
    return "PATCH", url, {"price": "7.00"}


async def _delete_variant(w: World) -> Request:
    product = await w.sized_product()
    url = f"/api/admin/products/{product['id']}/variants/{product['variants'][1]['id']}"
    return "DELETE", url, None


def _catalog_file() -> bytes:
    sku = f"IM-{uuid.uuid4().hex[:10]}"
    return (
        "product_sku,name,brand,category,price,variant_sku,stock\n"
        f"{sku},Matrix Lamp,Acme,lighting,5.00,{sku},berlin=1\n"
    ).encode()


async def _import(w: World) -> Request:
    return "POST", "/api/admin/imports", _catalog_file()


async def _import_status(w: World) -> Request:
    response = await w.client.post(
        "/api/admin/imports",
        content=_catalog_file(),
        headers={**w.accounts["ADMIN"], "Content-Type": "text/csv"},
    )
    assert response.status_code == 202, response.text
    return "GET", response.headers["Location"], None


async def _coupon(w: World) -> str:
    response = await w.client.post(
        "/api/admin/coupons", json=_coupon_body(), headers=w.accounts["ADMIN"]
    )
    assert response.status_code == 201, response.text
    return f"/api/admin/coupons/{response.json()['id']}"


def _coupon_body() -> dict[str, Any]:
    return {"code": f"M{uuid.uuid4().hex[:10]}", "kind": "percentage", "value": "10"}


async def _create_coupon(w: World) -> Request:
    return "POST", "/api/admin/coupons", _coupon_body()


async def _get_coupon(w: World) -> Request:
    return "GET", await _coupon(w), None


async def _add_synonym(w: World) -> Request:
    return "POST", "/api/admin/search/synonyms", {"terms": [uuid.uuid4().hex, "lamp"]}


async def _remove_synonym(w: World) -> Request:
    return await _delete_what(w, await _add_synonym(w))


async def _delete_what(w: World, creating: Request) -> Request:
    """DELETE of what `creating` makes, made by an admin."""
    _, path, body = creating
    response = await w.client.post(path, json=body, headers=w.accounts["ADMIN"])
    assert response.status_code == 201, response.text
    return "DELETE", f"{path}/{response.json()['id']}", None


async def _add_rule(w: World) -> Request:
    product = await w.product()
    return "POST", "/api/admin/search/rules", {"query": "lamp", "bury": [product["id"]]}


async def _remove_rule(w: World) -> Request:
    return await _delete_what(w, await _add_rule(w))


async def _update_coupon(w: World) -> Request:
    return "PATCH", await _coupon(w), {"value": "15"}


async def _archive_coupon(w: World) -> Request:
    return "DELETE", await _coupon(w), None


async def _in_every_cart(w: World) -> str:
    """A product in stock, put in the cart of every signed-in caller; its cart line's id."""
    product = await w.product()
    await set_stock(w.client, w.accounts["ADMIN"], product["sku"], 100)
    for headers in w.accounts.values():
        response = await w.client.post(
            "/api/cart/items", json={"product_id": product["id"]}, headers=headers
        )
        assert response.status_code == 200, response.text
    return str(product["variants"][0]["id"])


async def _add_to_cart(w: World) -> Request:
    product = await w.product()
    await set_stock(w.client, w.accounts["ADMIN"], product["sku"], 100)
    return "POST", "/api/cart/items", {"product_id": product["id"]}


async def _change_cart_item(w: World) -> Request:
    return "PATCH", f"/api/cart/items/{await _in_every_cart(w)}", {"quantity": 2}


async def _remove_cart_item(w: World) -> Request:
    return "DELETE", f"/api/cart/items/{await _in_every_cart(w)}", None


async def _apply_coupon(w: World) -> Request:
    await _in_every_cart(w)
    url = await _coupon(w)
    code = (await w.client.get(url, headers=w.accounts["ADMIN"])).json()["code"]
    return "POST", "/api/cart/coupon", {"code": code}


async def _get_stock(w: World) -> Request:
    return "GET", f"/api/admin/inventory/{(await w.product())['sku']}", None


async def _change_stock(w: World) -> Request:
    return (
        "PATCH",
        f"/api/admin/inventory/{(await w.product())['sku']}/stock",
        {"warehouse": "berlin", "quantity": 4, "reason": "matrix"},
    )


async def _threshold(w: World, method: str, body: dict[str, int] | None = None) -> Request:
    return method, f"/api/admin/inventory/{(await w.product())['sku']}/low-stock-threshold", body


async def _cancel_unpaid(w: World) -> None:
    """The CUSTOMER may hold 3 unpaid orders at once: the rows before are done with theirs."""
    customer = w.accounts["CUSTOMER"]
    mine = (await w.client.get("/api/orders?size=100", headers=customer)).json()["items"]
    for order in mine:
        if order["status"] == "PENDING":
            await w.client.post(f"/api/orders/{order['id']}/cancel", headers=customer)


async def _customer_order(w: World, **body: Any) -> dict[str, Any]:
    """An order of the CUSTOMER account's (staff may see and move it; others get 404)."""
    product = await w.product()
    await set_stock(w.client, w.accounts["ADMIN"], product["sku"], 100)
    customer = w.accounts["CUSTOMER"]
    added = await w.client.post(
        "/api/cart/items", json={"product_id": product["id"]}, headers=customer
    )
    assert added.status_code == 200, added.text
    if "payment_method" not in body:
        await _cancel_unpaid(w)
    response = await w.client.post(
        "/api/orders",
        json={"shipping_address": ADDRESS, **body},
        headers={**customer, "Idempotency-Key": str(uuid.uuid4())},
    )
    assert response.status_code == 201, response.text
    order: dict[str, Any] = response.json()
    return order


async def _confirmed_order(w: World) -> str:
    order = await _customer_order(w, payment_method="tok_visa")
    url = f"/api/orders/{order['id']}"

    async def status() -> str:
        return str((await w.client.get(url, headers=w.accounts["ADMIN"])).json()["status"])

    await eventually(status, lambda found: found == "CONFIRMED")
    return str(order["id"])


async def _delivered_order(w: World) -> dict[str, Any]:
    order_id = await _confirmed_order(w)
    for status in ("PROCESSING", "SHIPPED", "DELIVERED"):
        moved = await w.client.patch(
            f"/api/admin/orders/{order_id}/status",
            json={"status": status},
            headers=w.accounts["ADMIN"],
        )
        assert moved.status_code == 200, moved.text
    response = await w.client.get(f"/api/orders/{order_id}", headers=w.accounts["ADMIN"])
    order: dict[str, Any] = response.json()
    return order


def _return_of(order: dict[str, Any]) -> dict[str, Any]:
    return {"lines": [{"line_id": order["lines"][0]["id"], "quantity": 1}], "reason": "matrix"}


async def _checkout(w: World) -> Request:
    await _in_every_cart(w)
    return "POST", "/api/orders", {"shipping_address": ADDRESS}


async def _get_order(w: World) -> Request:
    return "GET", f"/api/orders/{(await _customer_order(w))['id']}", None


async def _pay_order(w: World) -> Request:
    order = await _customer_order(w)
    return "POST", f"/api/orders/{order['id']}/pay", {"payment_method": "tok_visa"}


async def _cancel_order(w: World) -> Request:
    return "POST", f"/api/orders/{(await _customer_order(w))['id']}/cancel", None


async def _request_return(w: World) -> Request:
    order = await _delivered_order(w)
    return "POST", f"/api/orders/{order['id']}/returns", _return_of(order)


async def _move_order(w: World) -> Request:
    url = f"/api/admin/orders/{await _confirmed_order(w)}/status"
    return "PATCH", url, {"status": "PROCESSING"}


async def _decide_return(w: World) -> Request:
    order = await _delivered_order(w)
    requested = await w.client.post(
        f"/api/orders/{order['id']}/returns", json=_return_of(order), headers=w.accounts["CUSTOMER"]
    )
    assert requested.status_code == 201, requested.text
    return "PATCH", f"/api/admin/returns/{requested.json()['id']}", {"status": "REJECTED"}


def _quest_body() -> dict[str, Any]:
    now = datetime.now(UTC)
    return {
        "title": "Matrix quest",
        "goal_kind": "orders",
        "goal": 1,
        "starts_at": (now - timedelta(hours=1)).isoformat(),
        "ends_at": (now + timedelta(days=1)).isoformat(),
        "reward_percent": "5",
    }


async def _quest(w: World) -> str:
    response = await w.client.post(
        "/api/admin/quests", json=_quest_body(), headers=w.accounts["ADMIN"]
    )
    assert response.status_code == 201, response.text
    quest_id: str = response.json()["id"]
    return quest_id


async def _start_quest(w: World) -> Request:
    return "POST", f"/api/quests/{await _quest(w)}/start", None


async def _update_quest(w: World) -> Request:
    return "PATCH", f"/api/admin/quests/{await _quest(w)}", {"title": "Renamed"}


#: Nobody's: signed-in callers are let in and find nothing (see NOT_THEIRS).
NO_SUCH_NOTIFICATION = f"/api/me/notifications/{uuid.uuid4()}"
SAME_PREFERENCES = {"email": True, "in_app": True}

A_CART_VIEW = {"session_id": "matrix-tab", "events": [{"type": "cart_viewed"}]}

#: (method, path) -> (request, callers that succeed); everyone else gets 401 or 403.
MATRIX: dict[tuple[str, str], tuple[Build, frozenset[str]]] = {
    ("GET", "/api/health"): (fixed("GET", "/api/health"), EVERYONE),
    ("GET", "/admin"): (fixed("GET", "/admin"), EVERYONE),
    ("GET", "/api/health/ready"): (fixed("GET", "/api/health/ready"), EVERYONE),
    ("GET", "/metrics"): (fixed("GET", "/metrics"), DASHBOARD_VIEWERS),
    ("GET", "/api/products"): (fixed("GET", "/api/products"), EVERYONE),
    ("GET", "/api/products/{product_id}"): (_get_product, EVERYONE),
    ("GET", "/api/brands"): (fixed("GET", "/api/brands"), EVERYONE),
    ("GET", "/api/categories"): (fixed("GET", "/api/categories"), EVERYONE),
    ("GET", "/api/search"): (fixed("GET", "/api/search?q=lamp"), EVERYONE),
    ("GET", "/api/search/suggest"): (fixed("GET", "/api/search/suggest?q=lam"), EVERYONE),
    ("POST", "/api/auth/register"): (_register, EVERYONE),
    ("POST", "/api/auth/login"): (_login, EVERYONE),
    ("POST", "/api/auth/refresh"): (_refresh, EVERYONE),
    ("POST", "/api/auth/logout"): (fixed("POST", "/api/auth/logout"), SIGNED_IN),
    ("GET", "/api/auth/me"): (fixed("GET", "/api/auth/me"), SIGNED_IN),
    ("GET", "/api/permissions"): (fixed("GET", "/api/permissions"), ROLE_ADMINS),
    ("GET", "/api/roles"): (fixed("GET", "/api/roles"), ROLE_ADMINS),
    ("POST", "/api/roles"): (_create_role, ROLE_ADMINS),
    ("PATCH", "/api/roles/{name}"): (_update_role, ROLE_ADMINS),
    ("DELETE", "/api/roles/{name}"): (_delete_role, ROLE_ADMINS),
    ("PUT", "/api/users/{user_id}/role"): (_assign_role, ROLE_ADMINS),
    ("GET", "/api/users"): (fixed("GET", "/api/users"), USER_ADMINS),
    ("PATCH", "/api/users/{user_id}"): (_update_user, USER_ADMINS),
    ("POST", "/api/admin/products"): (_create_product, CATALOG_ADMINS),
    ("PATCH", "/api/admin/products/{product_id}"): (_update_product, CATALOG_ADMINS),
    ("DELETE", "/api/admin/products/{product_id}"): (_delete_product, CATALOG_ADMINS),
    ("POST", "/api/admin/imports"): (_import, CATALOG_ADMINS),
    ("GET", "/api/admin/exports/products"): (
        fixed("GET", "/api/admin/exports/products"),
        CATALOG_ADMINS,
    ),
    ("POST", "/api/admin/coupons"): (_create_coupon, CATALOG_ADMINS),
    ("GET", "/api/admin/coupons"): (fixed("GET", "/api/admin/coupons"), CATALOG_ADMINS),
    ("GET", "/api/admin/coupons/{coupon_id}"): (_get_coupon, CATALOG_ADMINS),
    ("PATCH", "/api/admin/coupons/{coupon_id}"): (_update_coupon, CATALOG_ADMINS),
    ("DELETE", "/api/admin/coupons/{coupon_id}"): (_archive_coupon, CATALOG_ADMINS),
    ("GET", "/api/admin/search/synonyms"): (
        fixed("GET", "/api/admin/search/synonyms"),
        CATALOG_ADMINS,
    ),
    ("POST", "/api/admin/search/synonyms"): (_add_synonym, CATALOG_ADMINS),
    ("DELETE", "/api/admin/search/synonyms/{synonym_id}"): (_remove_synonym, CATALOG_ADMINS),
    ("GET", "/api/admin/search/rules"): (fixed("GET", "/api/admin/search/rules"), CATALOG_ADMINS),
    ("POST", "/api/admin/search/rules"): (_add_rule, CATALOG_ADMINS),
    ("DELETE", "/api/admin/search/rules/{rule_id}"): (_remove_rule, CATALOG_ADMINS),
    ("GET", "/api/admin/imports/{job_id}"): (_import_status, CATALOG_ADMINS),
    ("GET", "/api/admin/products/{product_id}/variants"): (_list_variants, CATALOG_ADMINS),
    ("POST", "/api/admin/products/{product_id}/variants"): (_add_variant, CATALOG_ADMINS),
    ("PATCH", "/api/admin/products/{product_id}/variants/{variant_id}"): (
        _update_variant,
        CATALOG_ADMINS,
    ),
    ("DELETE", "/api/admin/products/{product_id}/variants/{variant_id}"): (
        _delete_variant,
        CATALOG_ADMINS,
    ),
    # Guests have carts too (a new, empty one here: see NOT_THEIRS).
    ("GET", "/api/cart"): (fixed("GET", "/api/cart"), EVERYONE),
    ("POST", "/api/cart/items"): (_add_to_cart, EVERYONE),
    ("PATCH", "/api/cart/items/{item_id}"): (_change_cart_item, SIGNED_IN),
    ("DELETE", "/api/cart/items/{item_id}"): (_remove_cart_item, SIGNED_IN),
    ("POST", "/api/cart/coupon"): (_apply_coupon, SIGNED_IN),
    ("DELETE", "/api/cart/coupon"): (fixed("DELETE", "/api/cart/coupon"), EVERYONE),
    ("GET", "/api/admin/inventory/{sku}"): (_get_stock, CATALOG_ADMINS),
    ("PATCH", "/api/admin/inventory/{sku}/stock"): (_change_stock, CATALOG_ADMINS),
    ("GET", "/api/admin/inventory/{sku}/low-stock-threshold"): (
        lambda w: _threshold(w, "GET"),
        CATALOG_ADMINS,
    ),
    ("PUT", "/api/admin/inventory/{sku}/low-stock-threshold"): (
        lambda w: _threshold(w, "PUT", {"threshold": 3}),
        CATALOG_ADMINS,
    ),
    ("DELETE", "/api/admin/inventory/{sku}/low-stock-threshold"): (
        lambda w: _threshold(w, "DELETE"),
        CATALOG_ADMINS,
    ),
    ("GET", "/api/admin/warehouses"): (fixed("GET", "/api/admin/warehouses"), CATALOG_ADMINS),
    ("GET", "/api/admin/inventory/search"): (
        fixed("GET", "/api/admin/inventory/search"),
        CATALOG_ADMINS,
    ),
    ("POST", "/api/orders"): (_checkout, BUYERS),
    ("GET", "/api/orders"): (fixed("GET", "/api/orders"), SIGNED_IN),
    ("GET", "/api/orders/{order_id}"): (_get_order, SIGNED_IN),
    ("POST", "/api/orders/{order_id}/pay"): (_pay_order, OWNER),
    ("POST", "/api/orders/{order_id}/cancel"): (_cancel_order, SIGNED_IN),
    ("POST", "/api/orders/{order_id}/returns"): (_request_return, OWNER),
    ("GET", "/api/admin/orders"): (fixed("GET", "/api/admin/orders"), ORDER_STAFF),
    ("GET", "/api/admin/dashboard/realtime"): (
        fixed("GET", "/api/admin/dashboard/realtime"),
        DASHBOARD_VIEWERS,
    ),
    ("GET", "/api/admin/dashboard/{period}"): (
        fixed("GET", "/api/admin/dashboard/daily"),
        DASHBOARD_VIEWERS,
    ),
    ("PATCH", "/api/admin/orders/{order_id}/status"): (_move_order, ORDER_STAFF),
    ("GET", "/api/admin/returns"): (fixed("GET", "/api/admin/returns"), ORDER_STAFF),
    ("PATCH", "/api/admin/returns/{return_id}"): (_decide_return, ORDER_STAFF),
    ("POST", "/api/events"): (fixed("POST", "/api/events", A_CART_VIEW), EVERYONE),
    ("POST", "/api/auth/password-reset"): (
        fixed("POST", "/api/auth/password-reset", {"email": "nobody@example.com"}),
        EVERYONE,
    ),
    ("POST", "/api/auth/password-reset/confirm"): (
        fixed(
            "POST",
            "/api/auth/password-reset/confirm",
            {"token": "made-up-token-0123456789", "new_password": "long-enough-42x"},
        ),
        frozenset(),
    ),
    # Not the shared accounts' real change (it would end their sessions): a body without
    # its new password shows who is let in.
    ("POST", "/api/auth/password"): (
        fixed("POST", "/api/auth/password", {"current_password": PASSWORD}),
        frozenset(),
    ),
    ("GET", "/api/me/notification-preferences"): (
        fixed("GET", "/api/me/notification-preferences"),
        SIGNED_IN,
    ),
    ("PUT", "/api/me/notification-preferences"): (
        fixed("PUT", "/api/me/notification-preferences", SAME_PREFERENCES),
        SIGNED_IN,
    ),
    ("GET", "/api/me/notifications"): (fixed("GET", "/api/me/notifications"), SIGNED_IN),
    ("PATCH", "/api/me/notifications/{notification_id:uuid}"): (
        fixed("PATCH", NO_SUCH_NOTIFICATION, {"read": True}),
        frozenset(),
    ),
    ("POST", "/api/me/notifications/read"): (
        fixed("POST", "/api/me/notifications/read"),
        SIGNED_IN,
    ),
    ("GET", "/api/me/achievements"): (fixed("GET", "/api/me/achievements"), SIGNED_IN),
    ("GET", "/api/quests"): (fixed("GET", "/api/quests"), EVERYONE),
    ("POST", "/api/quests/{quest_id}/start"): (_start_quest, SIGNED_IN),
    ("GET", "/api/me/quests"): (fixed("GET", "/api/me/quests"), SIGNED_IN),
    ("GET", "/api/admin/quests"): (fixed("GET", "/api/admin/quests"), CATALOG_ADMINS),
    ("POST", "/api/admin/quests"): (
        lambda w: fixed("POST", "/api/admin/quests", _quest_body())(w),
        CATALOG_ADMINS,
    ),
    ("PATCH", "/api/admin/quests/{quest_id}"): (_update_quest, CATALOG_ADMINS),
}

#: Callers let in who still cannot act: someone else's order is a 404 (it stays secret); a
#: guest's new cart has no such line (404) and nothing to apply a code to (422).
NOT_THEIRS: dict[tuple[str, str], dict[str, int]] = {
    ("POST", "/api/orders/{order_id}/pay"): dict.fromkeys(ORDER_STAFF, 404),
    ("POST", "/api/orders/{order_id}/returns"): dict.fromkeys(ORDER_STAFF, 404),
    ("PATCH", "/api/cart/items/{item_id}"): {ANONYMOUS: 404},
    ("DELETE", "/api/cart/items/{item_id}"): {ANONYMOUS: 404},
    ("POST", "/api/cart/coupon"): {ANONYMOUS: 422},
    # Public, and a made-up token is refused for everyone alike.
    ("POST", "/api/auth/password-reset/confirm"): dict.fromkeys(EVERYONE, 400),
    ("POST", "/api/auth/password"): dict.fromkeys(SIGNED_IN, 422),
    ("PATCH", "/api/me/notifications/{notification_id:uuid}"): dict.fromkeys(SIGNED_IN, 404),
}


def test_every_route_has_a_row(client: httpx.AsyncClient) -> None:
    app: FastAPI = client._transport.app  # type: ignore[attr-defined]
    routes = {key for route in api_routes(app.routes) for key in route_keys(route)}
    assert routes - MATRIX.keys() == set(), "add the new route to MATRIX (and api/access.py)"
    assert MATRIX.keys() - routes == set(), "MATRIX lists a route the app no longer has"


@pytest.fixture
async def remote(client: httpx.AsyncClient) -> AsyncIterator[httpx.AsyncClient]:
    """The same app, called from an address that is not this machine's."""
    app: FastAPI = client._transport.app  # type: ignore[attr-defined]
    transport = httpx.ASGITransport(app=app, client=REMOTE)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http


@pytest.mark.parametrize("route", sorted(MATRIX), ids=" ".join)
@pytest.mark.parametrize("caller", CALLERS)
async def test_route_answers_caller_as_expected(
    remote: httpx.AsyncClient,
    accounts: dict[str, dict[str, str]],
    route: tuple[str, str],
    caller: str,
) -> None:
    client = remote
    build, allowed = MATRIX[route]
    world = World(client, accounts)
    method, url, body = await build(world)
    # Checkout needs one; every other route ignores it.
    headers: dict[str, str] = {"Idempotency-Key": str(uuid.uuid4())}
    if caller != ANONYMOUS:
        # A session of its own, so that logging out does not end the shared one.
        headers |= await sign_in(client, f"{caller.lower().replace('_', '-')}@accounts.example.com")

    if isinstance(body, bytes):  # a file upload
        headers["Content-Type"] = "text/csv"
        response = await client.request(method, url, content=body, headers=headers)
    else:
        response = await client.request(method, url, json=body, headers=headers)

    if caller in allowed:
        assert 200 <= response.status_code < 300, (route, caller, response.text)
    elif caller in NOT_THEIRS.get(route, {}):
        assert response.status_code == NOT_THEIRS[route][caller], (route, caller, response.text)
    else:
        expected = 401 if caller == ANONYMOUS else 403
        assert response.status_code == expected, (route, caller, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")


def test_an_app_with_an_unlisted_route_refuses_to_start() -> None:
    from fastapi import APIRouter

    from api.access import check_policy_covers

    app = FastAPI()
    router = APIRouter()

    @router.get("/unguarded")
    async def unguarded() -> None: ...

    app.include_router(router)
    with pytest.raises(RuntimeError, match="unguarded"):
        check_policy_covers(app)


async def test_metrics_need_a_token_even_from_this_machine(client: httpx.AsyncClient) -> None:
    # Behind a proxy on the same host every caller is 127.0.0.1: loopback proves nothing.
    assert (await client.get("/metrics")).status_code == 401
