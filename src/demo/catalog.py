"""A deterministic demo catalog: brands, a category tree, warehouses, products and stock.

Every product and stock row is written with its outbox event, so the worker builds the
search index and the warehouse from the same stream as any later change.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from commerce.catalog.models import Brand, Category, Product, Variant
from commerce.db import refresh_statistics
from commerce.events import ProductSnapshot, VariantSnapshot
from commerce.identity.permissions import CUSTOMER, SUPER_ADMIN
from commerce.identity.repository import IdentityRepository
from commerce.identity.service import create_user
from commerce.inventory.ledger import FirstStock, record_first_stock
from commerce.inventory.models import StockLevel, StockMovement, Warehouse
from commerce.outbox import OutboxRow, outbox_row

TREE: dict[str, list[str]] = {
    "electronics": ["phones", "laptops", "tablets", "headphones", "cameras", "televisions"],
    "home": ["kitchen", "furniture", "lighting", "bedding", "garden"],
    "fashion": ["shoes", "jackets", "shirts", "dresses", "watches", "bags"],
    "sports": ["running", "cycling", "fitness", "camping", "swimming"],
    "toys": ["board-games", "puzzles", "building-sets", "dolls"],
    "beauty": ["skincare", "fragrance", "makeup", "haircare"],
    "books": ["fiction", "cooking", "science", "children"],
    "grocery": ["coffee", "tea", "snacks", "pantry"],
}
BRAND_STEMS = [
    "Acme",
    "Nordic",
    "Zenith",
    "Apex",
    "Lumen",
    "Vertex",
    "Orion",
    "Summit",
    "Cobalt",
    "Harbor",
    "Pioneer",
    "Quantum",
    "Aurora",
    "Everest",
    "Juniper",
    "Falcon",
    "Maple",
    "Nimbus",
    "Sierra",
    "Tidal",
    "Aspen",
    "Beacon",
    "Cedar",
    "Delta",
    "Ember",
    "Fjord",
    "Glacier",
    "Horizon",
    "Indigo",
    "Jade",
    "Kestrel",
    "Lotus",
    "Meridian",
    "Nova",
    "Onyx",
    "Prism",
    "Quill",
    "Raven",
    "Solstice",
    "Terra",
    "Umbra",
    "Vista",
    "Willow",
    "Xenon",
    "Yarrow",
    "Zephyr",
    "Atlas",
    "Boreal",
    "Crest",
    "Drift",
    "Echo",
    "Flint",
    "Grove",
    "Halo",
]
ADJECTIVES = [
    "Classic",
    "Ultra",
    "Pro",
    "Mini",
    "Smart",
    "Wireless",
    "Eco",
    "Compact",
    "Premium",
    "Sport",
    "Travel",
    "Deluxe",
    "Essential",
    "Advanced",
    "Portable",
    "Vintage",
    "Organic",
    "Heavy-Duty",
]
COLOURS = ["black", "white", "red", "blue", "green", "grey", "silver", "navy", "olive", "sand"]
WAREHOUSES = [
    ("berlin", "Berlin DC"),
    ("dallas", "Dallas DC"),
    ("osaka", "Osaka DC"),
    ("toronto", "Toronto DC"),
]
WAREHOUSE_CODES = [code for code, _ in WAREHOUSES]
LEAVES = [(leaf, f"{root}/{leaf}") for root, children in TREE.items() for leaf in children]
EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
BATCH = 1000
SEED = 20261125


def noun_of(category: str) -> str:
    """What one product of a category is called: `board-games` -> `Board Game`."""
    *first, last = category.split("-")
    if last.endswith(("sses", "ches", "shes", "xes")):
        last = last[:-2]
    elif last.endswith("s") and not last.endswith("ss"):
        last = last[:-1]
    return " ".join([*first, last]).title()


@dataclass(frozen=True)
class DemoProduct:
    snapshot: ProductSnapshot
    #: (warehouse code, units on hand) where the product is stocked.
    stock: list[tuple[str, int]]

    @property
    def available(self) -> int:
        return sum(units for _, units in self.stock)


def demo_products(
    rng: random.Random,
    start: int,
    count: int,
    brands: Sequence[str] = BRAND_STEMS,
    leaves: Sequence[tuple[str, str]] = LEAVES,
    warehouses: Sequence[str] = WAREHOUSE_CODES,
) -> list[DemoProduct]:
    """Products `start` .. `start + count` of the demo catalog (`leaves` are (slug, path)),
    drawn from `rng` in the order `load` always used, so a seed gives the same catalog."""
    snapshots = [_snapshot(rng, number, brands, leaves) for number in range(start, start + count)]
    stocked = []
    for snapshot in snapshots:
        # Most products are stocked in one or two warehouses; about 8% are sold out.
        places = rng.sample(list(warehouses), rng.choice([1, 1, 2, 3]))
        stocked.append(
            DemoProduct(
                snapshot,
                [(code, 0 if rng.random() < 0.08 else rng.randint(1, 250)) for code in places],
            )
        )
    return stocked


def demo_catalog(count: int) -> list[DemoProduct]:
    """The first `count` products `load` writes, without a database (relevance judgments,
    benchmarks)."""
    rng = random.Random(SEED)
    return [
        product
        for start in range(0, count, BATCH)
        for product in demo_products(rng, start, min(BATCH, count - start))
    ]


def _snapshot(
    rng: random.Random, number: int, brands: Sequence[str], leaves: Sequence[tuple[str, str]]
) -> ProductSnapshot:
    brand, (slug, path) = rng.choice(brands), rng.choice(leaves)
    created = EPOCH + timedelta(minutes=number * 7)
    colour = rng.choice(COLOURS)
    noun = noun_of(slug)
    name = f"{brand} {rng.choice(ADJECTIVES)} {noun} {colour.title()}"
    sku = f"SKU-{number:06d}"
    variant = VariantSnapshot(id=uuid.UUID(int=rng.getrandbits(128), version=4), sku=sku)
    return ProductSnapshot(
        id=uuid.UUID(int=rng.getrandbits(128), version=4),
        sku=sku,
        variants=[variant],
        name=name,
        description=f"A {colour} {noun.lower()} by {brand}, "
        f"built for everyday use in {path.split('/')[0]}.",
        brand=brand,
        category=slug,
        category_path=path,
        price=Decimal(rng.randint(199, 149_999)) / 100,
        rating=round(rng.uniform(2.5, 5.0), 1),
        attributes={"colour": colour},
        created_at=created,
        version=1,
    )


async def is_loaded(session: AsyncSession) -> bool:
    return bool(await session.scalar(select(func.count()).select_from(Warehouse)))


async def load_reference_data(
    session: AsyncSession,
) -> tuple[list[Brand], list[Category], list[Warehouse]]:
    await session.execute(insert(Warehouse), [{"code": c, "name": n} for c, n in WAREHOUSES])
    await session.execute(insert(Brand), [{"slug": s.lower(), "name": s} for s in BRAND_STEMS])
    for root, children in TREE.items():
        root_id = await session.scalar(
            insert(Category).values(slug=root, name=root.title(), path=root).returning(Category.id)
        )
        await session.execute(
            insert(Category),
            [
                {
                    "slug": c,
                    "name": c.replace("-", " ").title(),
                    "parent_id": root_id,
                    "path": f"{root}/{c}",
                }
                for c in children
            ],
        )
    brands = list(await session.scalars(select(Brand).order_by(Brand.id)))
    leaves = list(
        await session.scalars(
            select(Category).where(Category.parent_id.is_not(None)).order_by(Category.id)
        )
    )
    warehouses = list(await session.scalars(select(Warehouse).order_by(Warehouse.id)))
    return brands, leaves, warehouses


def _event(
    type: str,
    aggregate_id: object,
    version: int,
    payload: ProductSnapshot,
    occurred_at: datetime,
) -> dict[str, object]:
    return outbox_row(type, aggregate_id, version, payload, occurred_at)


async def load(
    session: AsyncSession, products: int, progress: Callable[[int], None] = lambda n: None
) -> int:
    """Load the demo catalog unless one is there; returns how many products were added."""
    if await is_loaded(session):
        return 0
    rng = random.Random(SEED)
    brands, leaves, warehouses = await load_reference_data(session)
    ids = _Ids(
        {b.name: b.id for b in brands},
        {c.slug: c.id for c in leaves},
        {w.code: w.id for w in warehouses},
    )
    names = [b.name for b in brands]
    places = [(c.slug, c.path) for c in leaves]
    codes = [w.code for w in warehouses]
    for start in range(0, products, BATCH):
        count = min(BATCH, products - start)
        batch = demo_products(rng, start, count, names, places, codes)
        await _write_batch(session, batch, ids)
        progress(count)
    await refresh_statistics(session, [Product, Variant, StockLevel, StockMovement, OutboxRow])
    return products


@dataclass(frozen=True)
class _Ids:
    brands: dict[str, int]
    categories: dict[str, int]
    warehouses: dict[str, int]


async def _write_batch(session: AsyncSession, batch: list[DemoProduct], ids: _Ids) -> None:
    """The batch's products, variants and stock, each with its outbox event."""
    await session.execute(
        insert(Product),
        [
            {
                **p.snapshot.model_dump(
                    include={"id", "sku", "name", "description", "price", "rating"}
                ),
                "attributes": p.snapshot.attributes,
                "brand_id": ids.brands[str(p.snapshot.brand)],
                "category_id": ids.categories[str(p.snapshot.category)],
                "currency": "USD",
                "created_at": p.snapshot.created_at,
                "updated_at": p.snapshot.created_at,
                "version": 1,
            }
            for p in batch
        ],
    )
    await session.execute(
        insert(Variant),
        [
            {
                "id": p.snapshot.variants[0].id,
                "product_id": p.snapshot.id,
                "sku": p.snapshot.sku,
                "option_values": {},
                "option_key": "",
                "position": 0,
                "created_at": p.snapshot.created_at,
            }
            for p in batch
        ],
    )
    events = [
        _event("product.created", p.snapshot.id, 1, p.snapshot, p.snapshot.created_at)
        for p in batch
    ]
    stock = [
        FirstStock(
            p.snapshot.id,
            p.snapshot.variants[0].id,
            p.snapshot.sku,
            ids.warehouses[code],
            code,
            units,
            p.snapshot.created_at,
        )
        for p in batch
        for code, units in p.stock
    ]
    events += await record_first_stock(session, stock, "initial stock")
    await session.execute(insert(OutboxRow), events)


DEMO_USERS = (
    ("admin@demo.storefront.dev", "ada-lovelace-demo-2026", SUPER_ADMIN, "Ada", "Admin"),
    ("shopper@demo.storefront.dev", "sam-browses-demo-2026", CUSTOMER, "Sam", "Shopper"),
)


async def ensure_demo_users(session: AsyncSession) -> list[tuple[str, str, str]]:
    """The demo's super admin and customer, created once; (email, password, role) of each."""
    for email, password, role, first, last in DEMO_USERS:
        if await IdentityRepository(session).user_by_email(email) is None:
            await create_user(session, email, password, role=role, first_name=first, last_name=last)
    return [(email, password, role) for email, password, role, _, _ in DEMO_USERS]
