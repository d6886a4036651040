"""Catalog import from CSV: every row is checked before anything is written, then products
and their variants are upserted by SKU in batches, each batch one transaction whose events go
through the outbox. Importing the same file again changes nothing.

One row per variant (see `samples/products.csv`):

    product_sku,name,description,brand,category,price,rating,options,variant_sku,
    variant_price,stock

`options` is `size=M;colour=blue` (empty: the product's one default variant), `stock` is
`berlin=10;osaka=2` (on-hand quantities to set). Rows of one product repeat its fields or
leave them empty. Text is stored as given (a name starting with `=` stays text); any CSV
export must escape it again.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from commerce.catalog.models import Category, Product, Variant
from commerce.catalog.repository import CatalogRepository
from commerce.catalog.schemas import ProductIn, ProductPatch, VariantIn, VariantPatch
from commerce.catalog.service import create_product, update_product
from commerce.catalog.variants import add_variant, update_variant
from commerce.db import transaction
from commerce.errors import InvalidInput
from commerce.inventory.models import StockLevel, Warehouse
from commerce.inventory.schemas import StockChange
from commerce.inventory.service import adjust_stock

COLUMNS = (
    "product_sku",
    "name",
    "description",
    "brand",
    "category",
    "price",
    "rating",
    "options",
    "variant_sku",
    "variant_price",
    "stock",
)
PRODUCT_FIELDS = ("name", "description", "brand", "category", "price", "rating")
REQUIRED = ("product_sku", "name", "brand", "category", "price")
MAX_ROWS = 200_000
MAX_FIELD = 20_000
BATCH = 200
IMPORT_REASON = "catalog import"


@dataclass(frozen=True)
class RowError:
    line: int
    column: str
    reason: str


class ImportRejected(InvalidInput):
    """The file has bad rows: none of it was written."""

    def __init__(self, errors: Sequence[RowError]) -> None:
        shown = [{"line": e.line, "column": e.column, "reason": e.reason} for e in errors[:1000]]
        super().__init__(
            f"{len(errors)} problem(s) in the file; nothing was imported.",
            errors=shown,
            error_count=len(errors),
        )


@dataclass
class PlannedProduct:
    line: int
    product: ProductIn
    stock: dict[str, dict[str, int]] = field(default_factory=dict)  # variant sku -> levels


@dataclass
class ImportReport:
    products_created: int = 0
    products_updated: int = 0
    variants_created: int = 0
    variants_updated: int = 0
    stock_changes: int = 0
    unchanged: int = 0

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


def read_rows(data: bytes) -> Iterator[tuple[int, dict[str, str]]]:
    """(line number, row) from UTF-8 CSV bytes; a malformed file raises ImportRejected."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as bad:
        line = data[: bad.start].count(b"\n") + 1
        raise ImportRejected([RowError(line, "", "the file is not UTF-8 text")]) from None
    csv.field_size_limit(MAX_FIELD)
    reader = csv.DictReader(io.StringIO(text, newline=""), strict=True)
    try:
        header = [name.strip() for name in reader.fieldnames or []]
        missing = [name for name in REQUIRED if name not in header]
        if missing:
            raise ImportRejected([RowError(1, name, "missing column") for name in missing])
        reader.fieldnames = header
        for number, row in enumerate(reader, start=1):
            if number > MAX_ROWS:
                raise ImportRejected([RowError(reader.line_num, "", f"over {MAX_ROWS} rows")])
            if None in row:
                raise ImportRejected([RowError(reader.line_num, "", "more fields than columns")])
            yield reader.line_num, {k: (v or "").strip() for k, v in row.items()}
    except csv.Error as bad:
        raise ImportRejected([RowError(reader.line_num, "", f"malformed CSV: {bad}")]) from None


def pairs(text: str, column: str, line: int, errors: list[RowError]) -> dict[str, str]:
    """`a=1;b=2` -> {"a": "1", "b": "2"}; a malformed part is reported."""
    found: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in text.split(";"))):
        name, sep, value = part.partition("=")
        if not sep or not name.strip() or not value.strip():
            errors.append(RowError(line, column, f"{part!r} is not name=value"))
        else:
            found[name.strip()] = value.strip()
    return found


def plan(rows: Iterator[tuple[int, dict[str, str]]], warehouses: set[str]) -> list[PlannedProduct]:
    """Every product of the file, validated as the API would; all problems at once."""
    errors: list[RowError] = []
    groups: dict[str, list[tuple[int, dict[str, str]]]] = {}
    for line, row in rows:
        for column in REQUIRED:
            if not row.get(column) and (
                column == "product_sku" or row["product_sku"] not in groups
            ):
                errors.append(RowError(line, column, "required"))
        groups.setdefault(row.get("product_sku", ""), []).append((line, row))
    planned = [
        p for sku, group in groups.items() if sku for p in _product(group, warehouses, errors)
    ]
    seen: dict[str, int] = {}
    for product in planned:
        for variant in product.product.variants or [VariantIn(sku=product.product.sku)]:
            if variant.sku in seen and seen[variant.sku] != product.line:
                errors.append(RowError(product.line, "variant_sku", f"{variant.sku} repeats"))
            seen[variant.sku] = product.line
    if errors:
        first = {(e.line, e.column): e for e in reversed(errors)}  # one reason per cell
        raise ImportRejected(sorted(first.values(), key=lambda e: (e.line, e.column)))
    return planned


def _product(
    group: list[tuple[int, dict[str, str]]], warehouses: set[str], errors: list[RowError]
) -> list[PlannedProduct]:
    first_line, first = group[0]
    fields: dict[str, Any] = {"sku": first["product_sku"]}
    for line, row in group:
        for column in PRODUCT_FIELDS:
            value = row.get(column, "")
            if value and column in fields and fields[column] != value:
                errors.append(RowError(line, column, "differs from the product's first row"))
            elif value:
                fields.setdefault(column, value)
    variants, stock, names = [], {}, None
    for line, row in group:
        options = pairs(row.get("options", ""), "options", line, errors)
        names = names if names is not None else list(options)
        sku = row.get("variant_sku") or first["product_sku"]
        variant: dict[str, Any] = {"sku": sku, "options": options}
        if row.get("variant_price"):
            variant["price"] = row["variant_price"]
        variants.append((line, variant))
        levels = pairs(row.get("stock", ""), "stock", line, errors)
        for code, quantity in levels.items():
            if code not in warehouses:
                errors.append(RowError(line, "stock", f"no warehouse {code!r}"))
            elif not quantity.isdigit() or int(quantity) > 10_000_000:
                errors.append(RowError(line, "stock", f"{quantity!r} is not a quantity"))
        stock[sku] = {c: int(q) for c, q in levels.items() if q.isdigit()}
    if names:
        fields["options"] = names
        fields["variants"] = [v for _, v in variants]
    elif len(variants) > 1 or variants[0][1]["sku"] != first["product_sku"]:
        errors.append(RowError(first_line, "options", "several variants need options"))
    product = _validated(ProductIn, fields, first_line, errors, columns=_COLUMN_OF)
    return [PlannedProduct(first_line, product, stock)] if product is not None else []


_COLUMN_OF = {"sku": "product_sku", "variants": "variant_sku"}


def _validated(
    model: type[ProductIn],
    data: dict[str, Any],
    line: int,
    errors: list[RowError],
    columns: dict[str, str],
) -> ProductIn | None:
    try:
        return model.model_validate(data)
    except ValidationError as invalid:
        for problem in invalid.errors():
            where = [str(part) for part in problem["loc"]]
            column = columns.get(where[0], where[0]) if where else ""
            if where[:1] == ["variants"] and len(where) > 2:
                column = {"sku": "variant_sku", "price": "variant_price"}.get(where[2], "options")
            errors.append(RowError(line, column, problem["msg"]))
        return None


async def known_warehouses(session: AsyncSession) -> set[str]:
    return set(await session.scalars(select(Warehouse.code)))


async def check_categories(session: AsyncSession, planned: list[PlannedProduct]) -> None:
    slugs = set(await session.scalars(select(Category.slug)))
    errors = [
        RowError(p.line, "category", f"no category {p.product.category!r}")
        for p in planned
        if p.product.category not in slugs
    ]
    if errors:
        raise ImportRejected(errors)


async def import_products(
    sessions: async_sessionmaker[AsyncSession],
    data: bytes,
    progress: Callable[[int, int], None] = lambda done, total: None,
) -> ImportReport:
    """Validate the whole file, then upsert it in batches; `progress(done, total)` per batch."""
    async with sessions() as session:
        planned = plan(read_rows(data), await known_warehouses(session))
        await check_categories(session, planned)
    report = ImportReport()
    for start in range(0, len(planned), BATCH):
        batch = planned[start : start + BATCH]
        async with transaction(sessions) as session:
            for item in batch:
                await _upsert(session, item, report)
        progress(min(start + BATCH, len(planned)), len(planned))
    return report


async def _upsert(session: AsyncSession, item: PlannedProduct, report: ImportReport) -> None:
    wanted = item.product
    product_id = await session.scalar(select(Product.id).where(Product.sku == wanted.sku))
    existing = None if product_id is None else await CatalogRepository(session).get(product_id)
    if existing is None:
        await create_product(session, wanted)
        report.products_created += 1
    else:
        await _update(session, existing, wanted, report)
    await _stock(session, item.stock, report)


async def _update(
    session: AsyncSession, existing: Product, wanted: ProductIn, report: ImportReport
) -> None:
    current = {
        "name": existing.name,
        "description": existing.description,
        "brand": existing.brand.name,
        "category": existing.category.slug,
        "price": existing.price,
        "rating": existing.rating,
    }
    fields = wanted.model_dump(include=set(current))
    changed = {k: v for k, v in fields.items() if current[k] != v}
    if changed:
        await update_product(session, existing.id, ProductPatch.model_validate(changed))
        report.products_updated += 1
    variants = {
        v.sku: v
        for v in await session.scalars(
            select(Variant).where(Variant.product_id == existing.id, Variant.deleted_at.is_(None))
        )
    }
    for variant in wanted.variants:
        have = variants.get(variant.sku)
        if have is None:
            await add_variant(session, existing.id, variant)
            report.variants_created += 1
        elif _differs(have, variant):
            patch = VariantPatch(options=variant.options, price=variant.price)
            await update_variant(session, existing.id, have.id, patch)
            report.variants_updated += 1
    if not changed:
        report.unchanged += 1


def _differs(have: Variant, wanted: BaseModel) -> bool:
    data = wanted.model_dump()
    return bool(have.option_values != data["options"] or have.price != data["price"])


async def _stock(
    session: AsyncSession, stock: dict[str, dict[str, int]], report: ImportReport
) -> None:
    for sku, levels in stock.items():
        current = await _on_hand(session, sku)
        for code, quantity in levels.items():
            if current.get(code, 0) != quantity or code not in current:
                if quantity == 0 and code not in current:
                    continue
                change = StockChange(warehouse=code, quantity=quantity, reason=IMPORT_REASON)
                await adjust_stock(session, sku, change)
                report.stock_changes += 1


async def _on_hand(session: AsyncSession, sku: str) -> dict[str, int]:
    rows = await session.execute(
        select(Warehouse.code, StockLevel.on_hand)
        .join(StockLevel, StockLevel.warehouse_id == Warehouse.id)
        .join(Variant, Variant.id == StockLevel.variant_id)
        .where(Variant.sku == sku, Variant.deleted_at.is_(None))
    )
    return {code: int(on_hand) for code, on_hand in rows.tuples()}
