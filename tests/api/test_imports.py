"""Catalog import: every bad row named and nothing written; a good file twice is the same
catalog; hostile files get a clear 4xx."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import eventually

pytestmark = pytest.mark.usefixtures("reference")

SAMPLE = Path(__file__).parents[2] / "samples" / "products.csv"
HEADER = (
    "product_sku,name,description,brand,category,price,rating,options,variant_sku,"
    "variant_price,stock\n"
)


def unique_sample() -> tuple[bytes, str]:
    """The shipped sample with SKUs of its own (tests share one database)."""
    tag = uuid.uuid4().hex[:6].upper()
    text = (
        SAMPLE.read_text()
        .replace("TEE-CLASSIC", f"TEE-{tag}")
        .replace("LANTERN-200", f"LANTERN-{tag}")
    )
    return text.encode(), tag


async def upload(client: httpx.AsyncClient, admin: dict[str, str], data: bytes) -> httpx.Response:
    return await client.post(
        "/api/admin/imports", content=data, headers={**admin, "Content-Type": "text/csv"}
    )


async def finished(client: httpx.AsyncClient, admin: dict[str, str], location: str) -> Any:
    async def status() -> dict[str, Any]:
        response = await client.get(location, headers=admin)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    return await eventually(status, lambda s: s["state"] != "running", timeout=30)


async def product_by_sku(
    client: httpx.AsyncClient, admin: dict[str, str], sku: str
) -> dict[str, Any] | None:
    stock = await client.get(f"/api/admin/inventory/{sku}", headers=admin)
    if stock.status_code == 404:
        return None
    product: dict[str, Any] = (
        await client.get(f"/api/products/{stock.json()['product_id']}")
    ).json()
    return product


async def test_the_sample_imports_and_a_second_import_changes_nothing(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    data, tag = unique_sample()

    first = await upload(client, admin, data)
    assert first.status_code == 202, first.text
    done = await finished(client, admin, first.headers["Location"])
    assert done["state"] == "succeeded", done
    assert done["report"]["products_created"] == 2
    tee = await product_by_sku(client, admin, f"TEE-{tag}-S-NAVY")
    assert tee is not None and tee["options"] == ["size", "colour"]
    assert {v["sku"].removeprefix(f"TEE-{tag}-"): v["available"] for v in tee["variants"]} == {
        "S-NAVY": 16,
        "M-NAVY": 20,
        "L-NAVY": 0,
        "XL-NAVY": 6,
    }
    assert [v["price"] for v in tee["variants"]] == ["19.90", "19.90", "19.90", "21.90"]

    again = await finished(client, admin, (await upload(client, admin, data)).headers["Location"])

    assert again["report"] == {
        "products_created": 0,
        "products_updated": 0,
        "variants_created": 0,
        "variants_updated": 0,
        "stock_changes": 0,
        "unchanged": 2,
    }
    assert await product_by_sku(client, admin, f"TEE-{tag}-S-NAVY") == tee


async def test_a_file_with_three_bad_rows_writes_nothing_and_names_all_three(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    tag = uuid.uuid4().hex[:6].upper()
    rows = [
        f"GOOD-{tag},Good Lamp,,Acme,camping,10.00,4,,GOOD-{tag},,berlin=1",
        f"BAD1-{tag},Bad Price,,Acme,camping,ten,4,,BAD1-{tag},,",
        f"BAD2-{tag},No Warehouse,,Acme,camping,5.00,4,,BAD2-{tag},,atlantis=3",
        f"BAD3-{tag},,,Acme,camping,5.00,4,,BAD3-{tag},,",
    ]
    response = await upload(client, admin, (HEADER + "\n".join(rows) + "\n").encode())

    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["error_count"] == 3
    assert [(e["line"], e["column"]) for e in problem["errors"]] == [
        (3, "price"),
        (4, "stock"),
        (5, "name"),
    ]
    assert await product_by_sku(client, admin, f"GOOD-{tag}") is None


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        ((HEADER + "X,Lamp,,Acme,camping,1.00,4,,X,,\n").encode("utf-16"), "text/csv", 422),
        (b"\xff\xfe\x00garbage", "text/csv", 422),
        ((HEADER + 'Y,"' + "a" * 30_000 + '",,Acme,camping,1,4,,Y,,\n').encode(), "text/csv", 422),
        ((HEADER + 'Z,"unterminated,,Acme,camping,1,4,,Z,,\n').encode(), "text/csv", 422),
        (b"name,price\nLamp,1\n", "text/csv", 422),
        (b'{"sku": "J"}', "application/json", 415),
    ],
    ids=["utf-16", "binary", "huge-field", "unterminated-quote", "missing-columns", "json"],
)
async def test_hostile_files_get_a_clear_4xx(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    body: bytes,
    content_type: str,
    status: int,
) -> None:
    response = await client.post(
        "/api/admin/imports", content=body, headers={**admin, "Content-Type": content_type}
    )

    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_a_formula_in_a_name_is_stored_as_text(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    tag = uuid.uuid4().hex[:6].upper()
    name = "=cmd|' /C calc'!A0"
    row = f'F-{tag},"{name.replace(chr(34), chr(34) * 2)}",,Acme,camping,3.00,4,,F-{tag},,\n'

    response = await upload(client, admin, (HEADER + row).encode())
    assert (await finished(client, admin, response.headers["Location"]))["state"] == "succeeded"

    product = await product_by_sku(client, admin, f"F-{tag}")
    assert product is not None and product["name"] == name


async def export(client: httpx.AsyncClient, admin: dict[str, str], tag: str) -> list[str]:
    """The export's header and its rows whose SKUs carry `tag`."""
    response = await client.get("/api/admin/exports/products", headers=admin)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    header, *rows = response.text.splitlines(keepends=True)
    return [header, *(row for row in rows if tag in row)]


async def test_an_exported_formula_is_escaped_for_spreadsheets(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    tag = uuid.uuid4().hex[:6].upper()
    row = f"X-{tag},=HYPERLINK(1),@SUM(A1),Acme,camping,3.00,4,,X-{tag},,berlin=2\n"
    response = await upload(client, admin, (HEADER + row).encode())
    assert (await finished(client, admin, response.headers["Location"]))["state"] == "succeeded"

    header, exported = await export(client, admin, tag)

    assert header == HEADER
    assert exported == f"X-{tag},'=HYPERLINK(1),'@SUM(A1),Acme,camping,3.00,4,,X-{tag},,berlin=2\n"


async def test_an_exported_catalog_imports_back_unchanged(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    data, tag = unique_sample()
    response = await upload(client, admin, data)
    assert (await finished(client, admin, response.headers["Location"]))["state"] == "succeeded"

    exported = await export(client, admin, tag)
    again = await upload(client, admin, "".join(exported).encode())
    report = (await finished(client, admin, again.headers["Location"]))["report"]

    assert len(exported) > 3
    assert report["unchanged"] == len({row.split(",")[0] for row in exported[1:]})
    assert report | {"unchanged": 0} == {
        "products_created": 0,
        "products_updated": 0,
        "variants_created": 0,
        "variants_updated": 0,
        "stock_changes": 0,
        "unchanged": 0,
    }
