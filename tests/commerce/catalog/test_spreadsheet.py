"""Formula escaping for CSV cells: safe in a spreadsheet, and undone exactly on import."""

from __future__ import annotations

import pytest

from commerce.catalog.spreadsheet import escape_cell, unescape_cell


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
    ],
)
def test_formulas_are_escaped_and_the_escape_is_undone(stored: str, exported: str) -> None:
    assert escape_cell(stored) == exported
    assert unescape_cell(exported) == stored
