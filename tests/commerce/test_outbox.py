"""Outbox rows built for bulk inserts are exactly what the envelope model would write."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone

from commerce.events import Envelope, StockAdjusted
from commerce.outbox import outbox_row
from commerce.tracing import current_trace_id


def test_a_bulk_row_is_the_envelope_s_json_form() -> None:
    payload = StockAdjusted(
        movement_id=7,
        product_id=uuid.uuid4(),
        variant_id=uuid.uuid4(),
        sku="TEE-M",
        warehouse="berlin",
        delta=3,
        on_hand=3,
        available=5,
        reason="catalog import",
    )
    for occurred_at in (None, datetime(2026, 11, 26, 9, 30, 1, 5, tzinfo=UTC)):
        token = current_trace_id.set("4bf92f3577b34da6a3ce929d0e0e4736")
        try:
            row = outbox_row("stock.adjusted", "TEE-M", 7, payload, occurred_at)
        finally:
            current_trace_id.reset(token)

        envelope = Envelope.model_validate(row["event"])
        assert row["event"] == envelope.model_dump(mode="json")
        assert (row["topic"], row["key"], envelope.payload) == (
            "inventory",
            "TEE-M",
            payload.model_dump(mode="json"),
        )
    away = datetime(2026, 11, 26, 9, 30, tzinfo=timezone(timedelta(hours=9)))
    event = outbox_row("stock.adjusted", "TEE-M", 7, payload, away)["event"]
    assert event == Envelope.model_validate(event).model_dump(mode="json")
