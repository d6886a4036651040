"""What analysts use beside the dashboards: the example notebook, executed while the
warehouse is being rewritten under it, and `storefront warehouse shell`."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from analytics.compaction import rebuild_rollups
from analytics.warehouse import ParquetWarehouse, open_warehouse
from dashboards.reports import report
from dashboards.schemas import Period
from tests.history_shop import FIRST, LAST, Shop

NOTEBOOK = Path(__file__).parents[2] / "notebooks" / "warehouse-tour.ipynb"


@pytest.fixture
def warehouse_copy(shop: Shop, tmp_path: Path) -> Path:
    """The shop's warehouse, copied: these tests rewrite it."""
    copy = tmp_path / "warehouse"
    shutil.copytree(shop.root, copy)
    return copy


@pytest.fixture
def rewriting(warehouse_copy: Path) -> Iterator[list[int]]:
    """A writer rebuilding every rollup over and over (new files replace old ones, as the
    nightly ETL does) until the test ends; yields how many rebuilds it finished."""
    done: list[int] = []
    stop = threading.Event()

    def rewrite() -> None:
        warehouse = ParquetWarehouse(warehouse_copy)
        while not stop.is_set():
            rebuild_rollups(warehouse)
            done.append(1)

    thread = threading.Thread(target=rewrite, daemon=True)
    thread.start()
    yield done
    stop.set()
    thread.join(60)


def test_the_notebook_runs_during_rewrites_and_agrees_with_the_dashboard(
    warehouse_copy: Path, rewriting: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    with open_warehouse(warehouse_copy) as warehouse:
        expected = report(warehouse, Period.monthly, FIRST, LAST, None)
    monkeypatch.setenv("STOREFRONT_WAREHOUSE_PATH", str(warehouse_copy))
    notebook = nbformat.read(NOTEBOOK, as_version=4)

    NotebookClient(
        notebook, timeout=300, resources={"metadata": {"path": str(NOTEBOOK.parent)}}
    ).execute()

    assert rewriting, "the notebook ran while nothing was rewritten"
    # A print may reach the notebook as more than one stream output (its newline apart, on a
    # busy machine): what the cell printed is all of them together.
    printed = "".join(o["text"] for o in notebook.cells[-1].outputs if o.get("name") == "stdout")
    summary = json.loads(printed)
    assert int(summary["cohorts"]) == len({row.cohort for row in expected.cohorts}) == 3
    first_month = sum(row.customers for row in expected.cohorts if row.months_later == 0)
    assert int(summary["customers"]) == first_month == expected.totals.new_customers
    assert Decimal(summary["revenue_usd"]) == expected.totals.revenue
    assert int(summary["zero_result_searches"]) == expected.search.zero_results > 0
    charts = [
        o for c in notebook.cells for o in c.get("outputs", []) if "image/png" in o.get("data", {})
    ]
    assert len(charts) == 2


def test_the_warehouse_shell_answers_sql_on_the_current_snapshot(warehouse_copy: Path) -> None:
    with open_warehouse(warehouse_copy) as warehouse:
        (lines,) = warehouse.execute("SELECT count(*) FROM fact_order_lines").fetchone() or (0,)

    def shell(sql: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "storefront.cli", "warehouse", "shell", "-c", sql],
            env={**os.environ, "STOREFRONT_WAREHOUSE_PATH": str(warehouse_copy)},
            capture_output=True,
            text=True,
            timeout=120,
        )

    counted = shell("SELECT count(*) AS lines FROM fact_order_lines")

    assert counted.returncode == 0, counted.stderr
    assert str(lines) in counted.stdout and lines > 0
    wrong = shell("SELECT * FROM no_such_table")
    assert wrong.returncode != 0 and "no_such_table" in wrong.stdout + wrong.stderr
