"""Fixtures of the domain tests that call the services directly."""

from __future__ import annotations

from datetime import timedelta

import pytest
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from commerce.currency.rates import shipped_snapshot
from commerce.orders.checkout import Checkout, UnpaidCaps


@pytest.fixture
def checkout(sessions: async_sessionmaker[AsyncSession], redis: Redis) -> Checkout:
    """Checkout as the API wires it: stock held 15 minutes, the unpaid caps of the tests."""
    hold = timedelta(minutes=15)
    caps = UnpaidCaps(per_customer=3, per_address=10)
    return Checkout(sessions, redis, shipped_snapshot(), hold, hold, caps)
