"""Who may call what: one table for every route, enforced by one app-wide dependency.

A route missing from `POLICY` fails closed (and `check_policy_covers` refuses to start the
app), so a new route cannot ship unguarded.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from enum import Enum
from typing import Annotated

from fastapi import Depends, FastAPI, Request
from fastapi.routing import APIRoute
from starlette.routing import BaseRoute

from commerce.identity.context import IdentityContext, Principal
from commerce.identity.errors import Forbidden, Unauthenticated
from commerce.identity.permissions import Permission
from commerce.identity.sessions import authenticate


class Audience(Enum):
    PUBLIC = "public"
    SIGNED_IN = "signed in"
    #: Anyone; a caller who sends a token is signed in (and a bad token is a 401).
    ANYONE = "anyone, signed in if a token is sent"


Requirement = Audience | Permission

PUBLIC, SIGNED_IN, ANYONE = Audience.PUBLIC, Audience.SIGNED_IN, Audience.ANYONE

Route = tuple[str, str]

#: (method, path template) -> who may call it. Keyed by the route itself, not a function
#: name, so two handlers that happen to share a name can never share a rule by accident.
POLICY: dict[Route, Requirement] = {
    # operations
    ("GET", "/api/health"): PUBLIC,
    # The dashboard page signs in in the browser; the data it reads is guarded.
    ("GET", "/admin"): PUBLIC,
    # Staff who send a token see each check's details.
    ("GET", "/api/health/ready"): ANYONE,
    # A token always (behind a proxy on this host every caller looks local); a local agent
    # scrapes the loopback port of STOREFRONT_API_METRICS_PORT instead.
    ("GET", "/metrics"): Permission.VIEW_DASHBOARD,
    # catalog: browse for everyone, changes for catalog managers
    ("GET", "/api/products"): PUBLIC,
    ("GET", "/api/products/{product_id}"): PUBLIC,
    ("GET", "/api/brands"): PUBLIC,
    ("GET", "/api/categories"): PUBLIC,
    ("POST", "/api/admin/products"): Permission.MANAGE_PRODUCTS,
    ("PATCH", "/api/admin/products/{product_id}"): Permission.MANAGE_PRODUCTS,
    ("DELETE", "/api/admin/products/{product_id}"): Permission.MANAGE_PRODUCTS,
    ("POST", "/api/admin/imports"): Permission.MANAGE_PRODUCTS,
    ("GET", "/api/admin/imports/{job_id}"): Permission.MANAGE_PRODUCTS,
    ("GET", "/api/admin/exports/products"): Permission.MANAGE_PRODUCTS,
    ("GET", "/api/admin/products/{product_id}/variants"): Permission.MANAGE_PRODUCTS,
    ("POST", "/api/admin/products/{product_id}/variants"): Permission.MANAGE_PRODUCTS,
    ("PATCH", "/api/admin/products/{product_id}/variants/{variant_id}"): (
        Permission.MANAGE_PRODUCTS
    ),
    ("DELETE", "/api/admin/products/{product_id}/variants/{variant_id}"): (
        Permission.MANAGE_PRODUCTS
    ),
    ("POST", "/api/admin/coupons"): Permission.MANAGE_PRODUCTS,
    ("GET", "/api/admin/coupons"): Permission.MANAGE_PRODUCTS,
    ("GET", "/api/admin/coupons/{coupon_id}"): Permission.MANAGE_PRODUCTS,
    ("PATCH", "/api/admin/coupons/{coupon_id}"): Permission.MANAGE_PRODUCTS,
    ("DELETE", "/api/admin/coupons/{coupon_id}"): Permission.MANAGE_PRODUCTS,
    ("GET", "/api/admin/search/synonyms"): Permission.MANAGE_PRODUCTS,
    ("POST", "/api/admin/search/synonyms"): Permission.MANAGE_PRODUCTS,
    ("DELETE", "/api/admin/search/synonyms/{synonym_id}"): Permission.MANAGE_PRODUCTS,
    ("GET", "/api/admin/search/rules"): Permission.MANAGE_PRODUCTS,
    ("POST", "/api/admin/search/rules"): Permission.MANAGE_PRODUCTS,
    ("DELETE", "/api/admin/search/rules/{rule_id}"): Permission.MANAGE_PRODUCTS,
    # cart: each shopper's own; a guest's by the X-Cart-Id it was given
    ("GET", "/api/cart"): ANYONE,
    ("POST", "/api/cart/items"): ANYONE,
    ("PATCH", "/api/cart/items/{item_id}"): ANYONE,
    ("DELETE", "/api/cart/items/{item_id}"): ANYONE,
    # analytics: clients report views, clicks and funnel steps
    ("POST", "/api/events"): ANYONE,
    ("POST", "/api/cart/coupon"): ANYONE,
    ("DELETE", "/api/cart/coupon"): ANYONE,
    # orders: shoppers check out and see their own; staff see and move everyone's
    ("POST", "/api/orders"): Permission.CREATE_ORDER,
    ("GET", "/api/orders"): SIGNED_IN,
    ("GET", "/api/orders/{order_id}"): SIGNED_IN,
    ("POST", "/api/orders/{order_id}/pay"): SIGNED_IN,
    ("POST", "/api/orders/{order_id}/cancel"): SIGNED_IN,
    ("POST", "/api/orders/{order_id}/returns"): SIGNED_IN,
    ("GET", "/api/admin/orders"): Permission.MANAGE_ORDERS,
    ("GET", "/api/admin/dashboard/realtime"): Permission.VIEW_DASHBOARD,
    ("GET", "/api/admin/dashboard/{period}"): Permission.VIEW_DASHBOARD,
    ("PATCH", "/api/admin/orders/{order_id}/status"): Permission.MANAGE_ORDERS,
    ("GET", "/api/admin/returns"): Permission.MANAGE_ORDERS,
    ("PATCH", "/api/admin/returns/{return_id}"): Permission.MANAGE_ORDERS,
    # search
    ("GET", "/api/search"): PUBLIC,
    ("GET", "/api/search/suggest"): PUBLIC,
    # inventory
    ("GET", "/api/admin/inventory/search"): Permission.MANAGE_INVENTORY,
    ("GET", "/api/admin/inventory/{sku}"): Permission.MANAGE_INVENTORY,
    ("PATCH", "/api/admin/inventory/{sku}/stock"): Permission.MANAGE_INVENTORY,
    ("GET", "/api/admin/inventory/{sku}/low-stock-threshold"): Permission.MANAGE_INVENTORY,
    ("PUT", "/api/admin/inventory/{sku}/low-stock-threshold"): Permission.MANAGE_INVENTORY,
    ("DELETE", "/api/admin/inventory/{sku}/low-stock-threshold"): Permission.MANAGE_INVENTORY,
    ("GET", "/api/admin/warehouses"): Permission.MANAGE_INVENTORY,
    # identity
    ("POST", "/api/auth/register"): PUBLIC,
    ("POST", "/api/auth/login"): PUBLIC,
    ("POST", "/api/auth/refresh"): PUBLIC,
    ("POST", "/api/auth/logout"): SIGNED_IN,
    ("GET", "/api/auth/me"): SIGNED_IN,
    ("POST", "/api/auth/password-reset"): PUBLIC,
    ("POST", "/api/auth/password-reset/confirm"): PUBLIC,
    ("POST", "/api/auth/password"): SIGNED_IN,
    # notifications: each user's own
    ("GET", "/api/me/notification-preferences"): SIGNED_IN,
    ("PUT", "/api/me/notification-preferences"): SIGNED_IN,
    ("GET", "/api/me/notifications"): SIGNED_IN,
    ("PATCH", "/api/me/notifications/{notification_id:uuid}"): SIGNED_IN,
    ("POST", "/api/me/notifications/read"): SIGNED_IN,
    # rewards: customers' achievements and quests; staff define quests
    ("GET", "/api/me/achievements"): SIGNED_IN,
    ("GET", "/api/quests"): PUBLIC,
    ("POST", "/api/quests/{quest_id}/start"): SIGNED_IN,
    ("GET", "/api/me/quests"): SIGNED_IN,
    ("GET", "/api/admin/quests"): Permission.MANAGE_PRODUCTS,
    ("POST", "/api/admin/quests"): Permission.MANAGE_PRODUCTS,
    ("PATCH", "/api/admin/quests/{quest_id}"): Permission.MANAGE_PRODUCTS,
    ("GET", "/api/permissions"): Permission.MANAGE_ROLES,
    ("GET", "/api/roles"): Permission.MANAGE_ROLES,
    ("POST", "/api/roles"): Permission.MANAGE_ROLES,
    ("PATCH", "/api/roles/{name}"): Permission.MANAGE_ROLES,
    ("DELETE", "/api/roles/{name}"): Permission.MANAGE_ROLES,
    ("PUT", "/api/users/{user_id}/role"): Permission.MANAGE_ROLES,
    ("GET", "/api/users"): Permission.MANAGE_USERS,
    ("PATCH", "/api/users/{user_id}"): Permission.MANAGE_USERS,
}


def route_keys(route: APIRoute) -> list[Route]:
    """The POLICY keys of a route: one per method it answers."""
    return [(method, route.path) for method in sorted(route.methods or ())]


def _bearer_token(request: Request) -> str:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("Sign in and send the access token as a Bearer token.")
    return token.strip()


async def enforce_policy(request: Request) -> None:
    """Authenticate and authorise the request as its route's row in POLICY says.

    It reads the Authorization header itself (no FastAPI security dependency), so OpenAPI
    declares bearer auth only on the routes that need it (see `document_security`).
    """
    route = request.scope.get("route")
    path = route.path if isinstance(route, APIRoute) else ""
    requirement = POLICY.get((request.method, path))
    if requirement is None:
        raise Forbidden("This route has no access rule.")
    if requirement is PUBLIC:
        return
    if requirement is ANYONE and "authorization" not in request.headers:
        return
    context: IdentityContext = request.app.state.identity
    async with request.app.state.sessions() as session:
        principal = await authenticate(session, context, _bearer_token(request))
    if isinstance(requirement, Permission):
        principal.require(requirement)
    request.state.principal = principal


async def current_principal(request: Request) -> Principal:
    principal: Principal | None = getattr(request.state, "principal", None)
    if principal is None:
        raise Unauthenticated("Sign in first.")
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def api_routes(routes: Sequence[BaseRoute]) -> Iterator[APIRoute]:
    """Every APIRoute, including those of included routers (FastAPI >= 0.150 nests them)."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        elif (included := getattr(route, "original_router", None)) is not None:
            yield from api_routes(included.routes)


BEARER_SCHEME = {"bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}}


def document_security(app: FastAPI) -> None:
    """Declare bearer auth in OpenAPI on exactly the routes whose rule needs a caller."""
    for route in api_routes(app.routes):
        rule = next((POLICY[key] for key in route_keys(route) if key in POLICY), PUBLIC)
        if rule is PUBLIC:
            continue
        # `{}` is "no credentials": an ANYONE route serves guests.
        optional = rule is ANYONE
        security: list[dict[str, list[str]]] = (
            [{"bearerAuth": []}, {}] if optional else [{"bearerAuth": []}]
        )
        route.openapi_extra = {**(route.openapi_extra or {}), "security": security}


def check_policy_covers(app: FastAPI) -> None:
    """Refuse to build an app with a route that has no access rule."""
    missing = [
        key for route in api_routes(app.routes) for key in route_keys(route) if key not in POLICY
    ]
    if missing:
        raise RuntimeError(f"routes without an access rule in api/access.py: {missing}")
