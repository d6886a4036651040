"""Import jobs started over the API: checked at once, written in the background, their status
kept in Redis for a week so any API process can answer for it."""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from datetime import UTC, datetime
from typing import Any

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from commerce.catalog.imports import PlannedProduct, checked, write
from commerce.errors import NotFound

log = logging.getLogger(__name__)
KEEP_SECONDS = 7 * 24 * 3600
#: Jobs running in this process: kept referenced so the event loop does not drop them.
RUNNING: set[asyncio.Task[None]] = set()


class ImportNotFound(NotFound):
    def __init__(self, job_id: object) -> None:
        super().__init__(f"No import job {job_id}.")


def _key(job_id: uuid.UUID) -> str:
    return f"imports:{job_id}"


async def start_import(
    sessions: async_sessionmaker[AsyncSession], redis: Redis, data: bytes
) -> dict[str, Any]:
    """Check every row now (bad rows: ImportRejected, nothing written); write in the
    background; the returned status says how to follow it."""
    async with sessions() as session:
        planned = await checked(session, data)
    job_id = uuid.uuid4()
    status = {"id": str(job_id), "state": "running", "products": len(planned), "done": 0}
    status["started_at"] = datetime.now(UTC).isoformat()
    await _save(redis, job_id, status)
    task = asyncio.create_task(_run(sessions, redis, job_id, planned, status))
    RUNNING.add(task)
    task.add_done_callback(RUNNING.discard)
    return status


async def import_status(redis: Redis, job_id: uuid.UUID) -> dict[str, Any]:
    raw = await redis.get(_key(job_id))
    if raw is None:
        raise ImportNotFound(job_id)
    status: dict[str, Any] = json.loads(raw)
    return status


async def _run(
    sessions: async_sessionmaker[AsyncSession],
    redis: Redis,
    job_id: uuid.UUID,
    planned: list[PlannedProduct],
    status: dict[str, Any],
) -> None:
    progress: list[int] = []
    try:
        report = await write(sessions, planned, lambda done, _: progress.append(done))
        status |= {"state": "succeeded", "done": status["products"], "report": report.as_dict()}
    except Exception as error:  # the batches written stay; a re-run completes it
        log.exception("import %s failed", job_id)
        done = progress[-1] if progress else 0
        status |= {"state": "failed", "done": done, "error": str(error)[:500]}
    status["finished_at"] = datetime.now(UTC).isoformat()
    await _save(redis, job_id, status)


async def _save(redis: Redis, job_id: uuid.UUID, status: dict[str, Any]) -> None:
    await redis.set(_key(job_id), json.dumps(status), ex=KEEP_SECONDS)
