"""Rows built from real event payloads fit the warehouse schema column for column."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

import pyarrow as pa

from analytics.rollups import batch_rows
from analytics.schema import TABLES
from commerce.events import (
    ActivityTracked,
    Envelope,
    OrderChanged,
    OrderLineSnapshot,
    OrderPlaced,
    PaymentRecorded,
    ProductSnapshot,
    SearchesAnswered,
    SearchPerformed,
    StockAdjusted,
    UserRegistered,
    VariantSnapshot,
)
from commerce.orders.reporting import SoldLine, SoldOrder


def envelope(event_type: str, payload: dict[str, object], seq: int) -> Envelope:
    return Envelope(
        type=event_type, aggregate_id="a", aggregate_version=1, payload=payload, seq=seq
    )


def test_rows_match_the_schema() -> None:
    product_id, variant_id = uuid.uuid4(), uuid.uuid4()
    product = ProductSnapshot(
        id=product_id,
        sku="W-1",
        name="Lamp",
        description="",
        brand="Acme",
        category="lighting",
        category_path="home/lighting",
        price=Decimal("12.50"),
        rating=4.5,
        attributes={},
        created_at=datetime.now(UTC),
        version=3,
        options=["size"],
        variants=[VariantSnapshot(id=variant_id, sku="W-1-M", options={"size": "M"})],
    )
    stock = StockAdjusted(
        movement_id=7,
        product_id=product_id,
        variant_id=variant_id,
        sku="W-1-M",
        warehouse="berlin",
        delta=-2,
        on_hand=5,
        available=4,
        reason="sold",
    )
    order_id = uuid.uuid4()
    placed = OrderPlaced(
        order_id=order_id,
        customer_id=uuid.uuid4(),
        currency="EUR",
        rate=Decimal("0.9"),
        rate_date=date(2026, 11, 25),
        subtotal=Decimal("20.00"),
        discount=Decimal("2.00"),
        total=Decimal("18.00"),
        coupon_code="TEN",
        lines=[
            OrderLineSnapshot(
                line_id=uuid.uuid4(),
                product_id=product_id,
                variant_id=variant_id,
                sku="W-1-M",
                category="lighting",
                quantity=2,
                unit_price=Decimal("10.00"),
                discount=Decimal("2.00"),
                total=Decimal("18.00"),
            )
        ],
        pays_now=True,
        expires_at=datetime(2026, 11, 25, 12, 15, tzinfo=UTC),
    )
    paid = PaymentRecorded(
        payment_id=uuid.uuid4(),
        order_id=order_id,
        amount=Decimal("18.00"),
        currency="EUR",
        status="SUCCEEDED",
    )
    clicked = ActivityTracked(
        session_id="web-1234abcd", product_id=product_id, query="lamp", position=2
    )
    customer = placed.customer_id
    registered = UserRegistered(
        user_id=customer, email="a@b.dev", first_name="A", last_name="B", role="customer"
    )
    confirmed = OrderChanged(
        order_id=order_id,
        customer_id=customer,
        status="CONFIRMED",
        previous="PENDING",
        currency="EUR",
        total=Decimal("18.00"),
    )
    searched = SearchPerformed(
        session_id="web-1234abcd",
        query="  Desk LAMP ",
        filters={"brands": ["Acme"]},
        sort="relevance",
        page=1,
        results=0,
        latency_ms=1.5,
    )
    events = [
        envelope("product.updated", product.model_dump(mode="json"), 1),
        envelope("stock.adjusted", stock.model_dump(mode="json"), 2),
        envelope("user.registered", registered.model_dump(mode="json"), 3),
        envelope("order.created", placed.model_dump(mode="json"), 4),
        envelope("payment.succeeded", paid.model_dump(mode="json"), 5),
        envelope("activity.search_result_clicked", clicked.model_dump(mode="json"), 6),
        envelope("search.performed", searched.model_dump(mode="json"), 7),
        envelope("order.confirmed", confirmed.model_dump(mode="json"), 8),
    ]
    sold = SoldOrder(
        customer_id=customer,
        placed_at=datetime(2026, 11, 25, 23, 59, tzinfo=UTC),
        currency="EUR",
        rate=Decimal("0.9"),
        total=Decimal("18.00"),
        discount=Decimal("2.00"),
        first_paid=True,
        lines=[SoldLine(product_id, "lighting", 2, Decimal("18.00"))],
        first_in_month=True,
        cohort=date(2026, 11, 1),
    )

    rows = batch_rows(events, {str(order_id): sold})

    for table, schema in TABLES.items():
        if table == "dim_currency":  # loaded by the nightly ETL, not from events
            continue
        expected = {"fact_order_events": 2, "rollup_funnel": 3}.get(table, 1)
        assert len(rows[table]) == expected, table
        assert list(rows[table][0]) == schema.names
        pa.Table.from_pylist(rows[table], schema=schema)  # types fit, or this raises
    assert rows["dim_product"][0]["price"] == Decimal("12.50")
    assert rows["dim_product"][0]["valid_from"].tzinfo is None
    assert rows["fact_stock_movements"][0]["available_after"] == 4
    assert rows["fact_stock_movements"][0]["variant_id"] == str(variant_id)
    variant = rows["dim_product_variant"][0]
    assert (variant["sku"], variant["options"]) == ("W-1-M", '{"size": "M"}')
    assert variant["price"] == Decimal("12.50")  # no override: the product's price
    order = rows["fact_order_events"][0]
    assert (order["event"], order["status"], order["units"]) == ("created", "PENDING", 2)
    assert (order["total"], order["discount"]) == (Decimal("18.00"), Decimal("2.00"))
    assert (order["rate"], order["total_usd"]) == (Decimal("0.9"), Decimal("20.00"))
    line = rows["fact_order_lines"][0]
    assert (line["category"], line["quantity"], line["total_usd"]) == ("lighting", 2, 20)
    assert rows["fact_searches"][0]["query_key"] == "desk lamp"
    assert rows["dim_customer"][0]["customer_id"] == str(customer)
    sales = rows["rollup_orders"][0]
    assert (sales["day"], sales["orders"], sales["revenue_usd"]) == (
        date(2026, 11, 25),
        1,
        Decimal("20.00"),
    )
    assert (sales["units"], sales["first_orders"]) == (2, 1)
    assert rows["rollup_searches"][0]["zero_results"] == 1
    assert rows["rollup_cohorts"] == [
        {"cohort": date(2026, 11, 1), "month": date(2026, 11, 1), "customers": 1}
    ]
    assert rows["fact_payments"][0]["amount"] == Decimal("18.00")
    click = rows["fact_client_events"][0]
    assert (click["event"], click["query"], click["position"]) == (
        "search_result_clicked",
        "lamp",
        2,
    )
    assert (click["product_id"], click["customer_id"]) == (str(product_id), None)
    assert rows["fact_stock_movements"][0]["movement"] == "adjusted"


def test_a_flush_of_searches_is_a_row_each_counted_on_the_day_it_was_answered() -> None:
    late, early = datetime(2026, 11, 30, 23, 59, 59, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC)
    searched = [
        SearchPerformed(
            search_id=uuid.uuid4(),
            answered_at=answered_at,
            query=query,
            filters={},
            sort="relevance",
            page=page,
            results=results,
            latency_ms=1.0,
        )
        for answered_at, query, page, results in (
            (late, "Lamp", 1, 3),
            (early, "lamp", 2, 3),
            (early, "zzz", 1, 0),
        )
    ]
    flushed = SearchesAnswered(searches=searched).model_dump(mode="json")

    rows = batch_rows([envelope("search.answered", flushed, 9)], {})

    facts = rows["fact_searches"]
    assert [row["event_id"] for row in facts] == [str(s.search_id) for s in searched]
    assert [row["occurred_at"].date() for row in facts] == [late.date(), early.date(), early.date()]
    assert {row["event_seq"] for row in facts} == {9}
    counted = {(r["day"], r["query_key"], r["zero_results"]) for r in rows["rollup_searches"]}
    assert counted == {(late.date(), "lamp", 0), (early.date(), "zzz", 1)}, "page 2 is no search"
