"""The demo catalog's judged queries: what each shopper wants (demo.toml), graded against
every product of the catalog (see the grading rules at the top of demo.toml)."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path

from demo.catalog import DemoProduct
from search.relevance import JudgedQuery

JUDGMENTS = Path(__file__).parent / "demo.toml"
#: The demo catalog the grades are for (`storefront demo`'s default size).
PRODUCTS = 20_000
TYPES = ("category", "root")
WANTS = ("brand", "category", "root", "colour", "adjective")


def judged_queries(catalog: Sequence[DemoProduct]) -> list[JudgedQuery]:
    entries = tomllib.loads(JUDGMENTS.read_text(encoding="utf-8"))["queries"]
    return [
        JudgedQuery(
            q=entry["q"],
            kind=entry["class"],
            grades={p.snapshot.id: g for p in catalog if (g := grade(entry, traits(p))) > 0},
            as_you_type=entry.get("typed", False),
        )
        for entry in entries
    ]


def traits(product: DemoProduct) -> dict[str, str]:
    snapshot = product.snapshot
    adjective = snapshot.name.split(" ")[1]
    return {
        "name": snapshot.name,
        "sku": snapshot.sku,
        "brand": str(snapshot.brand),
        "category": str(snapshot.category),
        "root": snapshot.category_path.split("/")[0],
        "colour": snapshot.attributes["colour"],
        "adjective": adjective,
        # The name without its colour: the same product in another colour.
        "model": snapshot.name.rsplit(" ", 1)[0],
    }


def grade(want: Mapping[str, object], product: Mapping[str, str]) -> int:
    if "name" in want or "sku" in want:
        return _named(want, product)
    wanted = [key for key in WANTS if key in want]
    matched = [key for key in wanted if want[key] == product[key]]
    if not wanted:
        return 0
    if matched == wanted:
        return 3
    type_wanted = [key for key in wanted if key in TYPES]
    if type_wanted:
        if all(key in matched for key in type_wanted):
            return 2 if len(matched) > len(type_wanted) else 1
        return 0
    return 1 if "brand" in matched else 0


def _named(want: Mapping[str, object], product: Mapping[str, str]) -> int:
    key = "name" if "name" in want else "sku"
    if want[key] == product[key]:
        return 3
    named = product["model"] if key == "name" else None
    return 2 if named is not None and str(want[key]).rsplit(" ", 1)[0] == named else 0
