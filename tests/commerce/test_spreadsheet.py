"""Formula escaping for CSV cells: safe in a spreadsheet, and undone exactly on import."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from commerce import spreadsheet
from commerce.spreadsheet import escape_cell, unescape_cell


@pytest.mark.parametrize(
    ("stored", "exported"),
    [
        ("=cmd|' /C calc'!A0", "'=cmd|' /C calc'!A0"),
        ("+1 555", "'+1 555"),
        ("-5 % off", "'-5 % off"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("'=already quoted", "''=already quoted"),
        ("Plain tee", "Plain tee"),
        ("'quoted but harmless", "'quoted but harmless"),
        ("", ""),
        ("-12.50", "-12.50"),
        ("1e5", "1e5"),
    ],
)
def test_formulas_are_escaped_and_the_escape_is_undone(stored: str, exported: str) -> None:
    assert escape_cell(stored) == exported
    assert unescape_cell(exported) == stored


def test_dashboard_downloads_escape_searched_formulas_and_keep_numbers() -> None:
    from dashboards.schemas import PeriodRow, QueryRow
    from dashboards.service import csv_lines

    queries = [
        QueryRow(query='=HYPERLINK("http://evil.example","Open")', searches=300, zero_results=300)
    ]
    refunds = [
        PeriodRow(
            period=date(2026, 12, 1),
            orders=0,
            revenue=Decimal("-5.00"),
            average_order_value=None,
            new_customers=0,
            returning_orders=0,
            refunded=Decimal("5.00"),
        )
    ]

    query_csv = "".join(csv_lines(list(queries), QueryRow)).splitlines()
    assert query_csv[1].startswith("\"'=HYPERLINK(")
    assert (
        "".join(csv_lines(list(refunds), PeriodRow))
        .splitlines()[1]
        .startswith("2026-12-01,0,-5.00,")
    )


def test_every_csv_the_project_writes_goes_through_the_escaping_writer() -> None:
    source = Path(spreadsheet.__file__).parent.parent
    writers = [
        path.relative_to(source)
        for path in source.rglob("*.py")
        if re.search(r"csv\.(writer|DictWriter)\(", path.read_text())
    ]
    assert writers == [Path("commerce/spreadsheet.py")]
