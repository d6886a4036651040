from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from storefront.settings import Settings
from tests.conftest import new_database
from tests.history_shop import Shop, open_shop


@pytest.fixture(scope="package")
async def shop(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Shop]:
    """90 days of history in a database of its own, streamed into a warehouse of its own."""
    url = await new_database(settings)
    opened = await open_shop(url, tmp_path_factory.mktemp("warehouse"))
    yield opened
    await opened.engine.dispose()
