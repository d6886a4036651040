"""Cells of catalog CSV files that spreadsheets open safely.

A cell starting with `=`, `+`, `-`, `@`, tab or carriage return is a formula to Excel and
LibreOffice (CSV injection). Exports prefix such a cell with `'`, which spreadsheets show
as text; imports take one such `'` off again, so an exported file re-imports unchanged.
"""

from __future__ import annotations

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def escape_cell(value: str) -> str:
    return "'" + value if value.lstrip("'").startswith(FORMULA_STARTS) else value


def unescape_cell(value: str) -> str:
    if value.startswith("'") and value.lstrip("'").startswith(FORMULA_STARTS):
        return value[1:]
    return value
