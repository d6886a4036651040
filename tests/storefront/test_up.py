"""`storefront up` as a new user runs it: crashes heal, a killed launcher leaves nothing behind.

Each defect found when the stack was tried from outside has a test here: a killed broker
stalled everything, a crashed worker took the API down, a killed launcher left orphans and
the next `up` failed with the real cause hidden in a log.
"""

from __future__ import annotations

import asyncio
import json
import mailbox
import shutil
import socket
import uuid
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import tantivy

from analytics.warehouse import open_warehouse
from search.stock_engines import TantivyStockIndex
from storefront.launched import DEMO_ADMIN, LaunchedStack, gone


@pytest.fixture(scope="module")
def launched(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LaunchedStack]:
    stack = LaunchedStack(tmp_path_factory.mktemp("up") / "data")
    stack.start()
    try:
        yield stack
    finally:
        stack.stop()


def create(stack: LaunchedStack, token: str, name: str) -> dict[str, Any]:
    body = {
        "sku": f"UP-{uuid.uuid4().hex[:12]}",
        "name": name,
        "brand": "Acme",
        "category": "camping",
        "price": "19.90",
    }
    response = httpx.post(
        f"{stack.api_url}/api/admin/products",
        json=body,
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert response.status_code == 201, response.text
    product: dict[str, Any] = response.json()
    return product


def found(stack: LaunchedStack, query: str) -> int:
    response = httpx.get(f"{stack.api_url}/api/search", params={"q": query, "size": 100})
    return int(response.json()["total"]) if response.status_code == 200 else -1


def warehouse_versions(stack: LaunchedStack, ids: set[str]) -> dict[str, int]:
    """How many `dim_product` rows (versions) each of these products has in the warehouse."""
    with open_warehouse(stack.data_dir / "warehouse") as warehouse:
        rows = warehouse.execute(
            "SELECT product_id, count(*) FROM dim_product GROUP BY 1"
        ).fetchall()
    return {pid: int(n) for pid, n in rows if pid in ids}


def test_a_killed_broker_is_restarted_and_every_write_arrives_once(
    launched: LaunchedStack,
) -> None:
    token = launched.token()
    tag = f"zq{uuid.uuid4().hex[:8]}"
    before = [create(launched, token, f"{tag} Lantern {n}") for n in range(5)]
    old = launched.kill("tansu")
    during = [create(launched, token, f"{tag} Lantern {n}") for n in range(5, 15)]
    launched.wait_restarted("tansu", old)

    launched.wait_for(lambda: found(launched, tag) == 15, 90, "all 15 products searchable")
    ids = {p["id"] for p in before + during}
    launched.wait_for(
        lambda: len(warehouse_versions(launched, ids)) == 15, 60, "all 15 in the warehouse"
    )
    assert set(warehouse_versions(launched, ids).values()) == {1}, "a product landed twice"


def test_a_crashed_worker_is_restarted_and_the_api_keeps_answering(
    launched: LaunchedStack,
) -> None:
    token = launched.token()
    api_pid = launched.pid("api")
    old = launched.kill("worker")
    statuses = set()
    tag = f"zq{uuid.uuid4().hex[:8]}"
    create(launched, token, f"{tag} Kettle")
    for _ in range(20):
        statuses.add(httpx.get(f"{launched.api_url}/api/health", timeout=5).status_code)
    launched.wait_restarted("worker", old)

    assert statuses == {200}
    assert launched.pid("api") == api_pid, "the API was not restarted"
    launched.wait_for(lambda: found(launched, tag) == 1, 90, "the write made meanwhile")


@pytest.mark.parametrize("server", ["postgres", "redis"])
def test_a_crashed_database_or_cache_is_reported_and_restarted(
    launched: LaunchedStack, server: str
) -> None:
    old = launched.kill(server)
    launched.wait_restarted(server, old)

    def ready() -> bool:
        response = httpx.get(f"{launched.api_url}/api/health/ready", timeout=5)
        return response.status_code == 200

    launched.wait_for(ready, 60, "every dependency ready again")
    assert f"{server} exited with code -9" in launched.output.read_text()
    tag = f"zq{uuid.uuid4().hex[:8]}"
    create(launched, launched.token(), f"{tag} Kettle")
    launched.wait_for(lambda: found(launched, tag) == 1, 90, "writes flow again")


def test_a_cart_and_its_session_survive_a_crashed_redis(launched: LaunchedStack) -> None:
    token = launched.token()
    headers = {"Authorization": f"Bearer {token}"}
    product = create(launched, token, f"zq{uuid.uuid4().hex[:8]} Kettle")
    stock = httpx.patch(
        f"{launched.api_url}/api/admin/inventory/{product['sku']}/stock",
        json={"warehouse": "berlin", "quantity": 5, "reason": "test"},
        headers=headers,
    )
    assert stock.status_code == 200, stock.text
    added = httpx.post(
        f"{launched.api_url}/api/cart/items",
        json={"product_id": product["id"], "quantity": 2},
        headers=headers,
    )
    assert added.status_code == 200, added.text

    launched.wait_restarted("redis", launched.kill("redis"))

    def cart() -> list[tuple[str, int]] | None:
        response = httpx.get(f"{launched.api_url}/api/cart", headers=headers, timeout=5)
        if response.status_code != 200:
            return None
        return [(line["sku"], line["quantity"]) for line in response.json()["items"]]

    launched.wait_for(lambda: cart() is not None, 60, "the cart answering again")
    assert (product["sku"], 2) in (cart() or [])


def test_status_reports_every_component_and_the_pipeline(launched: LaunchedStack) -> None:
    result = launched.command("status", "--json")
    report = json.loads(result.stdout)
    assert result.returncode == 0, result.stdout + result.stderr
    assert {c["name"]: c["up"] for c in report["components"]} == {
        "launcher": True,
        "postgres": True,
        "redis": True,
        "broker": True,
        "relay": True,
        "worker": True,
        "saga": True,
        "api": True,
    }
    pipeline = report["pipeline"]
    assert {c["consumer"] for c in pipeline["consumers"]} >= {"search", "warehouse", "cache"}
    assert pipeline["outbox_backlog"] >= 0


def test_a_catalog_imports_from_the_command_line_beside_up(launched: LaunchedStack) -> None:
    """No service URLs in the environment: the command finds the stack `up` runs."""
    sample = Path(__file__).parents[2] / "samples" / "products.csv"

    result = launched.command("import", "products", str(sample))

    assert result.returncode == 0, result.stdout + result.stderr
    assert "products created: 2" in result.stdout or "unchanged: 2" in result.stdout
    stock = httpx.get(
        f"{launched.api_url}/api/admin/inventory/TEE-CLASSIC-M-NAVY",
        headers={"Authorization": f"Bearer {launched.token()}"},
    )
    assert stock.status_code == 200 and stock.json()["available"] == 20


def test_the_catalog_exports_from_the_command_line_beside_up(
    launched: LaunchedStack, tmp_path: Path
) -> None:
    sample = Path(__file__).parents[2] / "samples" / "products.csv"
    assert launched.command("import", "products", str(sample)).returncode == 0
    exported = tmp_path / "catalog.csv"

    result = launched.command("export", "products", str(exported))

    assert result.returncode == 0, result.stdout + result.stderr
    header, *rows = exported.read_text().splitlines()
    assert header == sample.read_text().splitlines()[0]
    assert any(row.startswith("TEE-CLASSIC,") and "TEE-CLASSIC-M-NAVY" in row for row in rows)


def test_the_worker_serves_its_metrics(launched: LaunchedStack) -> None:
    metrics = httpx.get(f"http://127.0.0.1:{launched.metrics_port}/metrics").text
    assert "storefront_outbox_published_total" in metrics
    assert "storefront_consumer_batch_seconds" in metrics


def test_a_second_up_on_the_same_data_is_refused_by_name(launched: LaunchedStack) -> None:
    result = launched.command("up", timeout=30)
    assert result.returncode == 1
    assert (
        "already runs" in result.stdout and str(launched.state()["launcher_pid"]) in result.stdout
    )


def test_a_killed_launcher_takes_every_child_and_a_new_up_starts_cleanly(
    launched: LaunchedStack,
) -> None:
    """Last in this module: it kills the launcher the other tests share, then restarts it."""
    assert launched.process is not None
    pids = launched.all_pids()
    launched.process.kill()  # SIGKILL: no clean-up code of ours runs
    launched.process.wait()
    launched.wait_for(lambda: gone(pids), 60, "every child gone with the launcher")

    launched.start()
    assert asyncio.run(asyncio.to_thread(launched.healthy))


def test_up_on_a_stock_index_an_older_release_wrote_sets_it_aside_and_refills_it(
    launched: LaunchedStack,
) -> None:
    """After the restart above: `up` opened the stock index (its adapters) before refilling
    it, so an upgraded data folder failed to start (found trying the upgrade by hand)."""
    launched.stop()
    folder = launched.data_dir / "stock-index"
    shutil.rmtree(folder)
    folder.mkdir()
    older = tantivy.SchemaBuilder().add_text_field("source", stored=True).build()
    tantivy.Index(older, path=str(folder))

    launched.start()

    assert asyncio.run(asyncio.to_thread(launched.healthy))
    assert (launched.data_dir / "stock-index.outdated" / "meta.json").exists()
    assert TantivyStockIndex(folder).index.searcher().num_docs > 0


def test_a_port_in_use_is_named_before_anything_starts(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        stack = LaunchedStack(tmp_path / "data")
        stack.env["STOREFRONT_API_PORT"] = str(port)
        result = stack.command("up", timeout=60)
    assert result.returncode == 1
    output = " ".join(result.stdout.split())
    assert f"Port {port}" in output and "STOREFRONT_API_PORT" in output
    assert not (tmp_path / "data" / "services").exists(), "nothing may start"


def test_search_and_the_dashboard_hold_the_whole_demo_when_up_says_it_is_up(
    tmp_path: Path,
) -> None:
    stack = LaunchedStack(tmp_path / "data", demo_products=300)
    stack.start()
    try:
        assert found(stack, "") == 300, "no waiting: the demo was indexed before 'up'"
        with open_warehouse(stack.data_dir / "warehouse") as warehouse:
            products = warehouse.execute("SELECT count(DISTINCT product_id) FROM dim_product")
            assert products.fetchone() == (300,)
        # A first run shows what the dashboard is for: 90 days of past trade, already in.
        shown = httpx.get(
            f"{stack.api_url}/api/admin/dashboard/monthly",
            params={"from": (date.today() - timedelta(days=89)).isoformat()},
            headers={"Authorization": f"Bearer {stack.token()}"},
            timeout=30,
        ).json()
        assert shown["totals"]["orders"] > 1000 and shown["totals"]["refunds"] > 0
        assert shown["top_products"] and shown["zero_result_queries"] and shown["cohorts"]
        assert [stage["events"] > 0 for stage in shown["funnel"]] == [True] * 5
        tag = f"zq{uuid.uuid4().hex[:8]}"
        create(stack, stack.token(), f"{tag} Lantern")  # and what comes after streams
        stack.wait_for(lambda: found(stack, tag) == 1, 60, "a write after the demo")
    finally:
        stack.stop()


def test_the_shops_emails_land_in_the_local_mail_catcher(launched: LaunchedStack) -> None:
    asked = httpx.post(
        f"{launched.api_url}/api/auth/password-reset", json={"email": DEMO_ADMIN[0]}, timeout=10
    )
    assert asked.status_code == 202, asked.text

    def resets() -> list[str]:
        try:
            box = mailbox.Maildir(launched.data_dir / "mail", create=False)
            return [str(m["Subject"]) for m in box if "Reset" in str(m["Subject"])]
        except FileNotFoundError:
            return []

    launched.wait_for(lambda: bool(resets()), 60, "the reset email in <data>/mail")
    assert resets() == ["Reset your Storefront password"]
