"""bench/auth: login latency with the chosen argon2id parameters, on real PostgreSQL + Redis.

    .venv/bin/python bench/auth [--logins 200]

Goal (issue #3): p50 < 100 ms with OWASP's minimum (m=19 MiB, t=2, p=1). Also prints the
bare hash and verify cost. Logins go through the real API in-process (ASGI).
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.append(str(Path(__file__).parent.parent))  # bench/common.py
from common import machine, percentiles

import migrations
from api.app import create_app
from bootstrap.settings import UNLIMITED_LOGINS, Settings
from commerce.db import create_engine, session_factory, transaction
from commerce.identity.passwords import HASHER, hash_password, verify_password
from commerce.identity.service import create_user
from storefront.embedded import EmbeddedStack

PASSWORD = "correct-horse-battery-staple"


def hashing_cost(rounds: int = 30) -> None:
    hashed = hash_password(PASSWORD)
    hashing, verifying = [], []
    for _ in range(rounds):
        began = time.perf_counter()
        hash_password(PASSWORD)
        hashing.append((time.perf_counter() - began) * 1000)
        began = time.perf_counter()
        verify_password(hashed, PASSWORD)
        verifying.append((time.perf_counter() - began) * 1000)
    print(f"argon2id m={HASHER.memory_cost} KiB t={HASHER.time_cost} p={HASHER.parallelism}")
    print(f"hash  : {percentiles(hashing)}")
    print(f"verify: {percentiles(verifying)}")


async def logins(count: int, root: Path) -> None:
    stack = EmbeddedStack(root / "services")
    stack.start()
    try:
        settings = Settings.model_validate(
            {
                **stack.urls,
                "data_dir": root,
                "jwt_secret": secrets.token_urlsafe(48),
                **UNLIMITED_LOGINS,
            }
        )
        migrations.upgrade(settings.require("database_url"))
        engine = create_engine(settings.require("database_url"))
        async with transaction(session_factory(engine)) as session:
            await create_user(session, "bench@example.com", PASSWORD, role="CUSTOMER")
        await engine.dispose()
        app = create_app(settings)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
                body = {"email": "bench@example.com", "password": PASSWORD}
                for _ in range(10):  # warm up
                    await client.post("/api/auth/login", json=body)
                samples = []
                for _ in range(count):
                    began = time.perf_counter()
                    response = await client.post("/api/auth/login", json=body)
                    samples.append((time.perf_counter() - began) * 1000)
                    assert response.status_code == 200, response.text
        print(f"login through the API: {percentiles(samples)}")
    finally:
        stack.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--logins", type=int, default=200)
    args = parser.parse_args()
    print(f"machine: {machine()}")
    hashing_cost()
    asyncio.run(logins(args.logins, Path(tempfile.mkdtemp(prefix="bench-auth-"))))
