"""CSV that spreadsheets open safely: every CSV the project writes goes through here.

A cell starting with `=`, `+`, `-`, `@`, tab or carriage return is a formula to Excel and
LibreOffice (CSV injection): searched words and product names reach admins' downloads, so
such a cell is written with a leading `'`, which spreadsheets show as text. Numbers stay
numbers (a refund of -5.00 is not a formula). Imports take one such `'` off again, so an
exported catalog re-imports unchanged.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
NUMBER = re.compile(r"^-?\d+(\.\d+)?([eE][-+]?\d+)?$")


def escape_cell(value: str) -> str:
    if NUMBER.match(value):
        return value
    return "'" + value if value.lstrip("'").startswith(FORMULA_STARTS) else value


def unescape_cell(value: str) -> str:
    if value.startswith("'") and value.lstrip("'").startswith(FORMULA_STARTS):
        return value[1:]
    return value


def _cell(value: Any) -> Any:
    return escape_cell(value) if isinstance(value, str) else value


def csv_lines(header: Sequence[str] | None, rows: Iterable[Sequence[Any]]) -> Iterator[str]:
    """The rows (after an optional header) as escaped CSV, a line at a time."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    if header is not None:
        writer.writerow([_cell(name) for name in header])
    for row in rows:
        writer.writerow([_cell(value) for value in row])
        yield out.getvalue()
        out.seek(0)
        out.truncate()
    if out.tell():
        yield out.getvalue()


def csv_text(header: Sequence[str] | None, rows: Iterable[Sequence[Any]]) -> str:
    """The rows as one escaped CSV text."""
    return "".join(csv_lines(header, rows))
