"""Coupon administration through the API: what staff create, see, change and archive."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

pytestmark = pytest.mark.usefixtures("reference")


def code() -> str:
    return f"Api{uuid.uuid4().hex[:8]}"


async def create(client: httpx.AsyncClient, admin: dict[str, str], **body: Any) -> httpx.Response:
    return await client.post(
        "/api/admin/coupons",
        json={"code": code(), "kind": "percentage", "value": "10", **body},
        headers=admin,
    )


async def test_staff_create_and_read_a_restricted_fixed_amount_code(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    terms = {
        "kind": "fixed",
        "value": "15.00",
        "currency": "EUR",
        "min_subtotal": "60",
        "valid_from": "2026-12-01T00:00:00Z",
        "valid_to": "2027-01-01T00:00:00+01:00",
        "usage_limit": 500,
        "per_customer_limit": 1,
        "categories": ["fashion"],
        "brands": ["acme"],
    }
    created = await create(client, admin, **terms)
    assert created.status_code == 201, created.text
    coupon = created.json()

    shown = await client.get(f"/api/admin/coupons/{coupon['id']}", headers=admin)
    listed = await client.get("/api/admin/coupons?size=100", headers=admin)

    assert shown.json() == coupon
    assert coupon["id"] in {c["id"] for c in listed.json()["items"]}
    assert (coupon["value"], coupon["times_used"], coupon["categories"]) == (
        "15.00",
        0,
        ["fashion"],
    )
    assert coupon["valid_to"].startswith("2026-12-31T23:00:00")


async def test_a_code_differing_only_in_case_is_a_conflict(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    first = await create(client, admin)
    again = await create(client, admin, code=first.json()["code"].upper())

    assert again.status_code == 409
    assert again.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(
    ("terms", "complaint"),
    [
        ({"kind": "fixed", "value": "5"}, "currency"),
        ({"value": "150"}, "100"),
        ({"valid_from": "2026-12-02T00:00:00Z", "valid_to": "2026-12-01T00:00:00Z"}, "valid_to"),
        ({"valid_from": "2026-12-02T00:00:00"}, "timezone"),
        ({"currency": "XYZ"}, "currency"),
        ({"usage_limit": 0}, "usage_limit"),
        ({"categories": ["nowhere"]}, "nowhere"),
        ({"brands": ["no-such-brand-at-all"]}, "no-such-brand-at-all"),
        ({"code": "a b"}, "code"),
        ({"kind": "bogo"}, "kind"),
        ({"value": "-1"}, "value"),
    ],
)
async def test_bad_terms_are_a_problem_naming_them(
    client: httpx.AsyncClient, admin: dict[str, str], terms: dict[str, Any], complaint: str
) -> None:
    response = await create(client, admin, **terms)

    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert complaint in response.text


async def test_a_change_keeps_the_code_and_an_archived_code_is_gone(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    coupon = (await create(client, admin)).json()
    url = f"/api/admin/coupons/{coupon['id']}"

    changed = await client.patch(url, json={"value": "25", "usage_limit": 10}, headers=admin)
    refused = await client.patch(url, json={"code": "OTHER123"}, headers=admin)
    too_much = await client.patch(url, json={"value": "250"}, headers=admin)
    archived = await client.delete(url, headers=admin)

    assert changed.status_code == 200, changed.text
    assert (changed.json()["value"], changed.json()["usage_limit"]) == ("25.00", 10)
    assert (refused.status_code, too_much.status_code) == (422, 422)
    assert archived.status_code == 204
    assert (await client.get(url, headers=admin)).status_code == 404
    assert (await client.delete(url, headers=admin)).status_code == 404
    assert (await create(client, admin, code=coupon["code"])).status_code == 201
