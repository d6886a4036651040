"""The same searches on PostgreSQL full-text search, as a shop without a search engine would
write them: a weighted tsvector (name A, brand and category B, description C) with a GIN
index, websearch_to_tsquery, ts_rank, and each facet a GROUP BY that ignores its own filter.
"""

from __future__ import annotations

from typing import Any

import psycopg

from search.plan import Facet, SearchPlan
from search.query import ProductDocument, Sort

SCHEMA = """
CREATE TABLE bench_products (
    id uuid PRIMARY KEY,
    sku text NOT NULL,
    name text NOT NULL,
    brand text NOT NULL,
    category text NOT NULL,
    category_slugs text[] NOT NULL,
    category_paths text[] NOT NULL,
    description text NOT NULL,
    price bigint NOT NULL,
    rating real NOT NULL,
    available integer NOT NULL,
    created_at timestamptz NOT NULL,
    units_sold integer NOT NULL,
    tsv tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('english', name), 'A')
        || setweight(to_tsvector('english', brand || ' ' || replace(category, '-', ' ')), 'B')
        || setweight(to_tsvector('english', description), 'C')
    ) STORED
)
"""
INDEXES = [
    "CREATE INDEX bench_products_tsv ON bench_products USING gin (tsv)",
    "CREATE INDEX bench_products_brand ON bench_products (brand)",
    "CREATE INDEX bench_products_price ON bench_products (price)",
    "ANALYZE bench_products",
]
ORDER = {
    Sort.relevance: "rank DESC, rating DESC, id",
    Sort.price_asc: "price, id",
    Sort.price_desc: "price DESC, id",
    Sort.newest: "created_at DESC, id",
    Sort.rating: "rating DESC, id",
    Sort.best_selling: "units_sold DESC, id",
}


def load(dsn: str, docs: list[ProductDocument]) -> None:
    with psycopg.connect(dsn, autocommit=True) as db:
        db.execute("DROP TABLE IF EXISTS bench_products")
        db.execute(SCHEMA)
        columns = "id, sku, name, brand, category, category_slugs, category_paths, description, "
        columns += "price, rating, available, created_at, units_sold"
        with (
            db.cursor() as cursor,
            cursor.copy(f"COPY bench_products ({columns}) FROM STDIN") as copy,
        ):
            for doc in docs:
                copy.write_row(
                    (
                        doc.id,
                        doc.sku,
                        doc.name,
                        doc.brand,
                        doc.category,
                        doc.category_path.split("/"),
                        doc.category_paths(),
                        doc.description,
                        round(doc.price * 100),
                        doc.rating,
                        doc.available,
                        doc.created_at,
                        doc.units_sold,
                    )
                )
        for statement in INDEXES:
            db.execute(statement)


def statement(plan: SearchPlan) -> tuple[str, dict[str, Any]]:
    """One round trip: the page, the total and every facet (each without its own filter)."""
    text = " ".join(slot[0][0] for slot in plan.words)
    matched = (
        "SELECT *, ts_rank(tsv, query) AS rank FROM bench_products, "
        "websearch_to_tsquery('english', %(text)s) AS query WHERE tsv @@ query"
        if text
        else "SELECT *, 0::real AS rank FROM bench_products"
    )
    every = _where(plan, None)
    sql = f"""
    WITH m AS ({matched})
    SELECT
      (SELECT json_agg(h) FROM (
          SELECT id, sku, name, brand, price, rating, available FROM m {every}
          ORDER BY {ORDER[plan.sort]} LIMIT %(size)s OFFSET %(offset)s) h) AS hits,
      (SELECT count(*) FROM m {every}) AS total,
      (SELECT json_agg(b) FROM (
          SELECT brand, count(*) AS n FROM m {_where(plan, Facet.brand)}
          GROUP BY brand ORDER BY n DESC LIMIT 50) b) AS brands,
      (SELECT json_agg(c) FROM (
          SELECT path, count(*) AS n FROM m, unnest(category_paths) AS path
          {_where(plan, Facet.category)} GROUP BY path ORDER BY n DESC) c) AS categories,
      (SELECT json_agg(p) FROM (
          SELECT width_bucket(price, %(edges)s::bigint[]) AS bucket, count(*) AS n FROM m
          {_where(plan, Facet.price)} GROUP BY bucket) p) AS prices,
      (SELECT json_agg(s) FROM (
          SELECT available > 0 AS in_stock, count(*) AS n FROM m
          {_where(plan, Facet.stock)} GROUP BY 1) s) AS stock
    """
    filters = plan.filters
    return sql, {
        "text": text,
        "size": plan.size,
        "offset": plan.offset,
        "edges": list(plan.price_edges),
        "brands": list(filters.brands),
        "categories": list(filters.categories),
        "low": filters.cents_min,
        "high": filters.cents_max,
    }


def _where(plan: SearchPlan, facet: Facet | None) -> str:
    filters = plan.filters if facet is None else plan.filters.without(facet)
    conditions = []
    if filters.brands:
        conditions.append("brand = ANY(%(brands)s)")
    if filters.categories:
        conditions.append("category_slugs && %(categories)s::text[]")
    if filters.cents_min is not None:
        conditions.append("price >= %(low)s")
    if filters.cents_max is not None:
        conditions.append("price <= %(high)s")
    if filters.in_stock:
        conditions.append("available > 0")
    return f"WHERE {' AND '.join(conditions)}" if conditions else ""


def run(db: psycopg.Connection[Any], plan: SearchPlan) -> int:
    """The total the search found."""
    sql, params = statement(plan)
    row = db.execute(sql, params).fetchone()  # type: ignore[arg-type]
    assert row is not None
    return int(row[1])
