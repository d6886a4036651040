"""Property-based fuzzing of every documented operation: nothing a client sends is a 500.

schemathesis generates requests from the OpenAPI schema (valid and invalid ones) against the
real API served by uvicorn on the real stack, signed in as a SUPER_ADMIN so that guarded
operations are reached, not just refused.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from redis import Redis

from api.app import create_app
from bootstrap.settings import UNLIMITED_LOGINS, Settings
from tests.conftest import PASSWORD
from tests.served import served as served_app

pytestmark = pytest.mark.usefixtures("reference", "accounts")
EXAMPLES = 25  # per operation, same examples every run: ~600 requests, ~15 s


@pytest.fixture(scope="module")
def served(settings: Settings) -> Iterator[str]:
    """The API in a uvicorn server of its own (its own thread and event loop)."""
    with served_app(create_app(settings.model_copy(update=UNLIMITED_LOGINS)), "fuzzed API") as url:
        yield url
    # The fuzzer's failed logins count against 127.0.0.1, the address every other test
    # signs in from; its own app allowed them, the shared limiter must forget them.
    redis = Redis.from_url(settings.require("redis_url"))
    for key in redis.scan_iter("login-failures:*"):
        redis.delete(key)
    redis.close()


@pytest.fixture(scope="module")
def root_headers(served: str) -> dict[str, str]:
    response = httpx.post(
        f"{served}/api/auth/login",
        json={"email": "super-admin@accounts.example.com", "password": PASSWORD},
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


@pytest.fixture(scope="module")
def api_schema(served: str) -> Any:
    return schemathesis.openapi.from_url(f"{served}/openapi.json").exclude(
        path="/api/auth/logout"  # would end the session the fuzzer signs in with
    )


def test_no_server_errors(api_schema: Any, root_headers: dict[str, str]) -> None:
    failures: list[str] = []
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) > 20
    for operation in operations:

        @given(case=operation.as_strategy())
        @hypothesis_settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        )
        def no_server_error(case: Any) -> None:
            response = case.call(headers=root_headers, timeout=10)
            assert response.status_code < 500, (case.method, case.path, response.text)

        try:
            no_server_error()
        except AssertionError as error:
            failures.append(str(error))
    assert failures == []
