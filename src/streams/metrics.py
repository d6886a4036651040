"""The worker's Prometheus metrics, served by the worker on its own port.

The pipeline's state as PostgreSQL sees it (backlog, lags, dead letters kept) is served by
the API's `/metrics`; these are what only the worker process can count.
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram

PUBLISHED = Counter("storefront_outbox_published_total", "Events the relay published.", ["topic"])
APPLIED = Counter(
    "storefront_consumer_events_total", "Events a consumer applied (repeats skipped).", ["consumer"]
)
BATCH_SECONDS = Histogram(
    "storefront_consumer_batch_seconds",
    "Time a consumer took to apply one batch.",
    ["consumer"],
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
EVENT_AGE = Histogram(
    "storefront_consumer_event_age_seconds",
    "From an event's commit to its consumer applying it: how fresh projections are.",
    ["consumer"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0),
)
DEAD_LETTERED = Counter(
    "storefront_dead_lettered_total", "Events dead-lettered by this worker.", ["consumer", "topic"]
)
BROKER_RESETS = Counter(
    "storefront_broker_resets_total", "Times the relay found a broker that lost its log."
)
UNDELIVERED = Counter(
    "storefront_undelivered_applied_total",
    "Events the broker never brought to a consumer, applied from the outbox instead.",
    ["consumer"],
)
