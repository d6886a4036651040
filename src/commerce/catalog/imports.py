"""Catalog import from CSV: every row is checked before anything is written, then products
and their variants are upserted by SKU in batches, each batch one transaction whose events go
through the outbox. Importing the same file again changes nothing.

One row per variant (see `samples/products.csv`):

    product_sku,name,description,brand,category,price,rating,options,variant_sku,
    variant_price,stock

`options` is `size=M;colour=blue` (empty: the product's one default variant), `stock` is
`berlin=10;osaka=2` (on-hand quantities to set). Rows of one product repeat its fields or
leave them empty. Text is stored as given (a name starting with `=` stays text); a cell
that an export escaped for spreadsheets (`'=…`) loses that one `'` (see `spreadsheet`).
"""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from commerce.catalog.models import Brand, Category, Product, Variant
from commerce.catalog.repository import CatalogRepository
from commerce.catalog.schemas import ProductIn, ProductPatch, VariantIn, VariantPatch
from commerce.catalog.service import new_product, snapshot, update_product, variant_values
from commerce.catalog.variants import add_variant, update_variant
from commerce.db import column_values, copy_rows, transaction
from commerce.errors import InvalidInput
from commerce.events import VariantSnapshot
from commerce.inventory.ledger import FirstStock, record_first_stock
from commerce.inventory.models import Warehouse
from commerce.inventory.repository import InventoryRepository
from commerce.inventory.schemas import StockChange
from commerce.inventory.service import adjust_stock
from commerce.outbox import OutboxRow, outbox_row
from commerce.spreadsheet import unescape_cell

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
BATCH = 500
#: Batches written at once: one being built while PostgreSQL takes in the other.
WRITERS = 2
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

    def add(self, other: ImportReport) -> None:
        for name, count in other.as_dict().items():
            setattr(self, name, getattr(self, name) + count)


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
            yield reader.line_num, {k: unescape_cell((v or "").strip()) for k, v in row.items()}
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


async def check_categories(session: AsyncSession, planned: list[PlannedProduct]) -> None:
    slugs = set(await CatalogRepository(session).categories_by_slug())
    errors = [
        RowError(p.line, "category", f"no category {p.product.category!r}")
        for p in planned
        if p.product.category not in slugs
    ]
    if errors:
        raise ImportRejected(errors)


async def check_skus(session: AsyncSession, planned: list[PlannedProduct]) -> None:
    """A SKU of the file that another product's variant already has is a row error."""
    owner = {
        sku: p for p in planned for sku in [v.sku for v in p.product.variants] or [p.product.sku]
    }
    repo = CatalogRepository(session)
    errors = [
        RowError(owner[sku].line, "variant_sku", f"{sku} belongs to product {product_sku}")
        for sku, product_sku in await repo.sku_owners(owner)
        if product_sku != owner[sku].product.sku
    ]
    retired = await repo.deleted_skus([p.product.sku for p in planned])
    line = {p.product.sku: p.line for p in planned}
    errors += [RowError(line[sku], "product_sku", f"{sku} was deleted") for sku in retired]
    if errors:
        raise ImportRejected(errors)


async def checked(session: AsyncSession, data: bytes) -> list[PlannedProduct]:
    """The file's products, every row checked against the file and the catalog."""
    warehouses = {w.code for w in await InventoryRepository(session).warehouses()}
    planned = plan(read_rows(data), warehouses)
    await check_categories(session, planned)
    for start in range(0, len(planned), 5_000):
        await check_skus(session, planned[start : start + 5_000])
    return planned


async def import_products(
    sessions: async_sessionmaker[AsyncSession],
    data: bytes,
    progress: Callable[[int, int], None] = lambda done, total: None,
) -> ImportReport:
    """Validate the whole file, then upsert it in batches; `progress(done, total)` per batch."""
    async with sessions() as session:
        planned = await checked(session, data)
    return await write(sessions, planned, progress)


async def write(
    sessions: async_sessionmaker[AsyncSession],
    planned: list[PlannedProduct],
    progress: Callable[[int, int], None] = lambda done, total: None,
) -> ImportReport:
    """Upsert `checked` products in batches, each one transaction.

    New products go in with set-based inserts (rows, variants, stock, ledger and events per
    batch); products that exist go through the services, field by field. Two batches are in
    flight at once, so building one overlaps PostgreSQL's work on the other (the file's SKUs
    are unique, so they never touch the same rows).
    """
    async with transaction(sessions) as session:
        lookups = await Lookups.load(session, {item.product.brand for item in planned})
    report = ImportReport()
    batches = iter(range(0, len(planned), BATCH))
    written = 0

    async def writer() -> None:
        nonlocal written
        for start in batches:
            batch = planned[start : start + BATCH]
            report.add(await _write_batch(sessions, batch, lookups))
            written += len(batch)
            progress(written, len(planned))

    async with asyncio.TaskGroup() as writers:
        for _ in range(WRITERS):
            writers.create_task(writer())
    return report


async def _write_batch(
    sessions: async_sessionmaker[AsyncSession], batch: list[PlannedProduct], lookups: Lookups
) -> ImportReport:
    report = ImportReport()
    async with transaction(sessions) as session:
        current = await Current.load(session, [item.product.sku for item in batch])
        for item in batch:
            if item.product.sku in current.products:
                await _update(session, item, current, report)
        fresh = [item for item in batch if item.product.sku not in current.products]
        if fresh:
            await _create_many(session, fresh, lookups, report)
    return report


@dataclass
class Lookups:
    categories: dict[str, Category]
    warehouses: dict[str, Warehouse]
    brands: dict[str, Brand]

    @classmethod
    async def load(cls, session: AsyncSession, brand_names: set[str]) -> Lookups:
        """Everything rows refer to by name; brands new to the catalog are created here, in
        one short transaction, so concurrent batches never race to create one."""
        repo = CatalogRepository(session)
        categories = await repo.categories_by_slug()
        warehouses = {w.code: w for w in await InventoryRepository(session).warehouses()}
        brands = {name: await repo.brand_by_name(name) for name in sorted(brand_names)}
        return cls(categories, warehouses, brands)


async def _create_many(
    session: AsyncSession, items: list[PlannedProduct], lookups: Lookups, report: ImportReport
) -> None:
    """Insert new products with their variants, stock, ledger rows and events, in bulk.

    Rows are built as column dicts, not ORM objects: at 100,000s of rows per import the
    objects cost more than PostgreSQL's COPY of them.
    """
    now = datetime.now(UTC)
    products, variants, events = [], [], []
    stock: list[FirstStock] = []
    for item in items:
        data = item.product
        product = new_product(data, lookups.brands[data.brand], lookups.categories[data.category])
        made = [
            variant_values(product, variant, position)
            for position, variant in enumerate(data.variants or [VariantIn(sku=data.sku)])
        ]
        products.append(column_values(product))
        variants += made
        for variant in made:
            for code, quantity in item.stock.get(variant["sku"], {}).items():
                if quantity > 0:
                    warehouse = lookups.warehouses[code]
                    stock.append(
                        FirstStock(
                            product.id,
                            variant["id"],
                            variant["sku"],
                            warehouse.id,
                            warehouse.code,
                            quantity,
                            now,
                        )
                    )
        announced = [
            VariantSnapshot(id=v["id"], sku=v["sku"], options=v["option_values"], price=v["price"])
            for v in made
        ]
        payload = snapshot(product, announced)
        events.append(outbox_row("product.created", product.id, 1, payload, now))
    await copy_rows(session, Product, products)
    await copy_rows(session, Variant, variants)
    events += await record_first_stock(session, stock, IMPORT_REASON)
    await copy_rows(session, OutboxRow, events)
    report.products_created += len(items)
    report.stock_changes += len(stock)


@dataclass
class Current:
    """What the catalog holds for a batch's existing products, read in three queries."""

    products: dict[str, Product]
    variants: dict[str, Variant]
    on_hand: dict[str, dict[str, int]]

    @classmethod
    async def load(cls, session: AsyncSession, skus: Sequence[str]) -> Current:
        repo = CatalogRepository(session)
        products = {p.sku: p for p in await repo.by_skus(skus)}
        ids = [p.id for p in products.values()]
        variants = {v.sku: v for v in await repo.live_variants(ids)}
        by_variant = await repo.on_hand_by_warehouse(ids)
        on_hand = {v.sku: by_variant[v.id] for v in variants.values() if v.id in by_variant}
        return cls(products, variants, on_hand)


async def _update(
    session: AsyncSession, item: PlannedProduct, current: Current, report: ImportReport
) -> None:
    """Bring an existing product to what the file says; count it unchanged if it was."""
    wanted, existing = item.product, current.products[item.product.sku]
    before = report.as_dict()
    stored = {
        "name": existing.name,
        "description": existing.description,
        "brand": existing.brand.name,
        "category": existing.category.slug,
        "price": existing.price,
        "rating": existing.rating,
    }
    fields = wanted.model_dump(include=set(stored))
    if changed := {k: v for k, v in fields.items() if stored[k] != v}:
        await update_product(session, existing.id, ProductPatch.model_validate(changed))
        report.products_updated += 1
    for variant in wanted.variants:
        have = current.variants.get(variant.sku)
        if have is None:
            await add_variant(session, existing.id, variant)
            report.variants_created += 1
        elif have.option_values != variant.options or have.price != variant.price:
            patch = VariantPatch(options=variant.options, price=variant.price)
            await update_variant(session, existing.id, have.id, patch)
            report.variants_updated += 1
    await _stock(session, item.stock, current.on_hand, report)
    if report.as_dict() == before:
        report.unchanged += 1


async def _stock(
    session: AsyncSession,
    stock: dict[str, dict[str, int]],
    on_hand: dict[str, dict[str, int]],
    report: ImportReport,
) -> None:
    for sku, levels in stock.items():
        held = on_hand.get(sku, {})
        for code, quantity in levels.items():
            if held.get(code, 0) != quantity:
                change = StockChange(warehouse=code, quantity=quantity, reason=IMPORT_REASON)
                await adjust_stock(session, sku, change)
                report.stock_changes += 1
