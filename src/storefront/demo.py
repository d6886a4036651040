"""A deterministic demo catalog: brands, a category tree, warehouses, products and stock.

Every product and stock row is written with its outbox event, so the worker builds the
search index and the warehouse from the same stream as any later change.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from commerce.catalog.models import Brand, Category, Product, Variant
from commerce.db import refresh_statistics
from commerce.events import ProductSnapshot, StockAdjusted, VariantSnapshot
from commerce.identity.accounts import create_user
from commerce.identity.permissions import CUSTOMER, SUPER_ADMIN
from commerce.identity.repository import IdentityRepository
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
EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
BATCH = 1000


def _noun(category: str) -> str:
    return category.replace("-", " ").rstrip("s").title()


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
    payload: ProductSnapshot | StockAdjusted,
    occurred_at: datetime,
) -> dict[str, object]:
    return outbox_row(type, aggregate_id, version, payload, occurred_at)


async def load(
    session: AsyncSession, products: int, progress: Callable[[int], None] = lambda n: None
) -> int:
    """Load the demo catalog unless one is there; returns how many products were added."""
    if await is_loaded(session):
        return 0
    rng = random.Random(20261125)
    brands, leaves, warehouses = await load_reference_data(session)
    for start in range(0, products, BATCH):
        count = min(BATCH, products - start)
        await _load_batch(session, rng, start, count, brands, leaves, warehouses)
        progress(count)
    await refresh_statistics(session, [Product, Variant, StockLevel, StockMovement, OutboxRow])
    return products


async def _load_batch(
    session: AsyncSession,
    rng: random.Random,
    start: int,
    count: int,
    brands: list[Brand],
    leaves: list[Category],
    warehouses: list[Warehouse],
) -> None:
    product_rows, level_rows, events = [], [], []
    snapshots: list[tuple[ProductSnapshot, datetime]] = []
    for number in range(start, start + count):
        brand, category = rng.choice(brands), rng.choice(leaves)
        created = EPOCH + timedelta(minutes=number * 7)
        colour = rng.choice(COLOURS)
        name = f"{brand.name} {rng.choice(ADJECTIVES)} {_noun(category.slug)} {colour.title()}"
        sku = f"SKU-{number:06d}"
        variant = VariantSnapshot(id=uuid.UUID(int=rng.getrandbits(128), version=4), sku=sku)
        snapshot = ProductSnapshot(
            id=uuid.UUID(int=rng.getrandbits(128), version=4),
            sku=sku,
            variants=[variant],
            name=name,
            description=f"A {colour} {_noun(category.slug).lower()} by {brand.name}, "
            f"built for everyday use in {category.path.split('/')[0]}.",
            brand=brand.name,
            category=category.slug,
            category_path=category.path,
            price=Decimal(rng.randint(199, 149_999)) / 100,
            rating=round(rng.uniform(2.5, 5.0), 1),
            attributes={"colour": colour},
            created_at=created,
            version=1,
        )
        product_rows.append(
            {
                "id": snapshot.id,
                "sku": snapshot.sku,
                "name": name,
                "description": snapshot.description,
                "brand_id": brand.id,
                "category_id": category.id,
                "price": snapshot.price,
                "currency": "USD",
                "rating": snapshot.rating,
                "attributes": snapshot.attributes,
                "created_at": created,
                "updated_at": created,
                "version": 1,
            }
        )
        snapshots.append((snapshot, created))
        events.append(_event("product.created", snapshot.id, 1, snapshot, created))
    await session.execute(insert(Product), product_rows)
    await session.execute(
        insert(Variant),
        [
            {
                "id": snapshot.variants[0].id,
                "product_id": snapshot.id,
                "sku": snapshot.sku,
                "option_values": {},
                "option_key": "",
                "position": 0,
                "created_at": created,
            }
            for snapshot, created in snapshots
        ],
    )
    movements = []
    for snapshot, created in snapshots:
        # Most products are stocked in one or two warehouses; about 8% are sold out.
        stocked = rng.sample(warehouses, rng.choice([1, 1, 2, 3]))
        for warehouse in stocked:
            quantity = 0 if rng.random() < 0.08 else rng.randint(1, 250)
            level_rows.append(
                {
                    "variant_id": snapshot.variants[0].id,
                    "product_id": snapshot.id,
                    "warehouse_id": warehouse.id,
                    "on_hand": quantity,
                    "reserved": 0,
                }
            )
            movements.append((snapshot, warehouse, quantity, created))
    await session.execute(insert(StockLevel), level_rows)
    ids = list(
        await session.scalars(
            text("SELECT nextval('stock_movements_id_seq') FROM generate_series(1, :n)"),
            {"n": len(movements)},
        )
    )
    await session.execute(
        insert(StockMovement),
        [
            {
                "id": movement_id,
                "product_id": s.id,
                "variant_id": s.variants[0].id,
                "warehouse_id": w.id,
                "delta": q,
                "on_hand_after": q,
                "reason": "initial stock",
                "created_at": created,
            }
            for movement_id, (s, w, q, created) in zip(ids, movements, strict=True)
        ],
    )
    running: dict[uuid.UUID, int] = {}
    for movement_id, (snapshot, warehouse, quantity, created) in zip(ids, movements, strict=True):
        running[snapshot.id] = running.get(snapshot.id, 0) + quantity
        payload = StockAdjusted(
            movement_id=movement_id,
            product_id=snapshot.id,
            variant_id=snapshot.variants[0].id,
            sku=snapshot.sku,
            warehouse=warehouse.code,
            delta=quantity,
            on_hand=quantity,
            available=running[snapshot.id],
            reason="initial stock",
        )
        events.append(_event("stock.adjusted", snapshot.sku, movement_id, payload, created))
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
