"""Rates: the ECB document turned into rates per dollar, conversion and rounding checked
against a worked table, and `storefront rates refresh`'s path over real HTTP."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from commerce.currency import service
from commerce.currency.feed import EcbFeed, RateFeedUnavailable
from commerce.currency.money import round_money, to_minor
from commerce.currency.rates import RateFeedError, RateTable, from_ecb_xml, shipped_snapshot
from tests.conftest import eventually

TABLE = RateTable(
    date=date(2026, 11, 25),
    per_usd={
        "USD": Decimal(1),
        "EUR": Decimal("0.925"),
        "GBP": Decimal("0.79"),
        "CAD": Decimal("1.4"),
        "AUD": Decimal("1.55"),
        "JPY": Decimal("150.5"),
        "CNY": Decimal("7.2"),
        "INR": Decimal("83.3"),
    },
    source="test",
)

#: (US dollars, currency, expected): worked by hand, halves rounding away from zero.
WORKED = [
    ("0.10", "EUR", "0.09"),  # 0.0925
    ("1.01", "EUR", "0.93"),  # 0.93425
    ("2.70", "EUR", "2.50"),  # 2.4975: a half, up
    ("19.99", "GBP", "15.79"),  # 15.7921
    ("0.99", "JPY", "149"),  # 148.995: yen have no minor unit
    ("1.01", "JPY", "152"),  # 152.005
    ("20.00", "JPY", "3010"),
    ("9.99", "INR", "832.17"),  # 832.167
    ("12.34", "CAD", "17.28"),  # 17.276
    ("5.00", "USD", "5.00"),
]


@pytest.mark.parametrize(("usd", "currency", "expected"), WORKED)
def test_conversion_matches_the_worked_table(usd: str, currency: str, expected: str) -> None:
    converted = TABLE.convert(Decimal(usd), currency)
    assert converted == Decimal(expected)
    assert str(converted) == expected  # JPY shows no decimals at all


def test_minor_units_and_half_up_rounding() -> None:
    assert round_money(Decimal("0.125"), "USD") == Decimal("0.13")
    assert round_money(Decimal("-0.125"), "USD") == Decimal("-0.13")
    assert round_money(Decimal("100.5"), "JPY") == Decimal("101")
    assert to_minor(Decimal("19.99"), "USD") == 1999
    assert to_minor(Decimal("3010"), "JPY") == 3010


def test_the_ecb_document_becomes_rates_per_dollar() -> None:
    table = shipped_snapshot()
    assert table.date == date(2026, 11, 25) and table.source == "snapshot"
    assert table.rate("USD") == Decimal(1)
    assert table.rate("EUR") == (Decimal(1) / Decimal("1.0540")).quantize(Decimal("1e-10"))
    assert table.rate("JPY") == (Decimal("162.35") / Decimal("1.0540")).quantize(Decimal("1e-10"))
    assert set(table.per_usd) == {"USD", "EUR", "GBP", "CAD", "AUD", "JPY", "CNY", "INR"}


@pytest.mark.parametrize(
    "document",
    [
        b"not xml",
        b"<Envelope/>",
        SNAPSHOT_WITHOUT_INR
        := b"""<gesmes:Envelope xmlns:gesmes="http://www.gesmes.org/xml/2002-08-01"
 xmlns="http://www.ecb.int/vocabulary/2002-08-01/eurofxref"><Cube><Cube time="2026-11-25">
 <Cube currency="USD" rate="1.05"/></Cube></Cube></gesmes:Envelope>""",
    ],
)
def test_a_document_we_cannot_use_is_refused(document: bytes) -> None:
    with pytest.raises(RateFeedError):
        from_ecb_xml(document)


@pytest.mark.parametrize("rate", [b"0", b"-162.35", b"0.0000"])
def test_a_rate_of_zero_or_less_is_refused_for_any_currency(rate: bytes) -> None:
    document = shipped_snapshot_document().replace(b"rate='162.35'", b"rate='" + rate + b"'")
    with pytest.raises(RateFeedError, match="JPY"):
        from_ecb_xml(document)


class _Feed(BaseHTTPRequestHandler):
    body = b""
    status = 200

    def do_GET(self) -> None:
        self.send_response(self.status)
        self.send_header("Content-Type", "text/xml")
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def feed_server() -> Iterator[tuple[str, type[_Feed]]]:
    """A rates feed over real HTTP serving what the test sets."""
    handler = type("Feed", (_Feed,), {})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/eurofxref-daily.xml", handler
    server.shutdown()


async def test_refresh_keeps_the_new_day_and_drops_the_cached_rates(
    feed_server: tuple[str, type[_Feed]],
    sessions: async_sessionmaker[AsyncSession],
    redis: Redis,
) -> None:
    url, handler = feed_server
    newer = (
        shipped_snapshot_document()
        .replace(b"2026-11-25", b"2099-01-02")
        .replace(b"rate='162.35'", b"rate='170.00'")
    )
    handler.body = newer
    before = await service.current_rates(sessions, redis)
    async with httpx.AsyncClient() as http, sessions() as session:
        fetched = await service.refresh(session, redis, EcbFeed(http, url))

    assert fetched.date == date(2099, 1, 2)
    current = await service.current_rates(sessions, redis)
    assert current.date == date(2099, 1, 2) and current != before
    assert current.rate("JPY") == (Decimal("170.00") / Decimal("1.0540")).quantize(Decimal("1e-10"))

    handler.status = 503
    async with httpx.AsyncClient() as http, sessions() as session:
        with pytest.raises(RateFeedUnavailable):
            await service.refresh(session, redis, EcbFeed(http, url))
    assert (await service.current_rates(sessions, redis)).date == date(2099, 1, 2)
    await _forget_fetched(sessions, redis)


def shipped_snapshot_document() -> bytes:
    from importlib import resources

    return resources.files("commerce.currency").joinpath("ecb-snapshot.xml").read_bytes()


async def _forget_fetched(sessions: async_sessionmaker[AsyncSession], redis: Redis) -> None:
    """Other tests price with the shipped snapshot."""
    from sqlalchemy import delete

    from commerce.currency.models import ExchangeRate

    async with sessions() as session, session.begin():
        await session.execute(delete(ExchangeRate))
    await redis.delete(service.CACHE_KEY)


async def test_a_wildly_moved_rate_is_refused_the_previous_day_kept_and_readiness_says_so(
    feed_server: tuple[str, type[_Feed]],
    sessions: async_sessionmaker[AsyncSession],
    redis: Redis,
    client: httpx.AsyncClient,
    accounts: dict[str, dict[str, str]],
) -> None:
    url, handler = feed_server
    handler.body = (
        shipped_snapshot_document()
        .replace(b"2026-11-25", b"2099-01-03")
        .replace(b"rate='162.35'", b"rate='1623.5'")  # a misplaced decimal point
    )
    async with httpx.AsyncClient() as http, sessions() as session:
        with pytest.raises(service.RatesRefused, match="JPY"):
            await service.refresh(session, redis, EcbFeed(http, url))
    try:
        assert (await service.current_rates(sessions, redis)).date == date(2026, 11, 25)

        async def reported() -> dict[str, Any]:
            ready = await client.get("/api/health/ready", headers=accounts["STAFF"])
            found: dict[str, Any] = ready.json()["checks"]["rates"]
            return found

        # Readiness is checked once per READY_CACHE_SECONDS: wait for a fresh check.
        rates = await eventually(reported, lambda found: "refused" in found)
        assert "refused" in rates["status"] and "JPY" in rates["refused"]["reason"]

        handler.body = shipped_snapshot_document().replace(b"2026-11-25", b"2099-01-04")
        async with httpx.AsyncClient() as http, sessions() as session:
            await service.refresh(session, redis, EcbFeed(http, url))
        assert await service.last_refusal(redis) is None
    finally:
        await _forget_fetched(sessions, redis)
        await redis.delete(service.REFUSED_KEY)
