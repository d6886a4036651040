"""Catalog imports (a CSV file checked row by row, then written in the background) and the
export that writes the same format."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import StreamingResponse

from api.deps import RedisClient, Sessions
from api.problems import responses
from commerce.catalog import exports, import_jobs
from commerce.errors import DomainError

router = APIRouter(tags=["catalog"])

#: A catalog of 200,000 variants with long descriptions stays well below this.
MAX_UPLOAD = 64 * 1024 * 1024
PATH = "/api/admin/imports"


class UnsupportedMediaType(DomainError):
    status = 415
    title = "Unsupported media type"


@router.post(
    PATH,
    status_code=202,
    responses=responses(401, 403, 413, 415, 422),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"text/csv": {"schema": {"type": "string", "format": "binary"}}},
        }
    },
)
async def start_import(
    request: Request, response: Response, sessions: Sessions, redis: RedisClient
) -> dict[str, Any]:
    """Upload a products CSV (`Content-Type: text/csv`; see samples/products.csv). Every row
    is checked first: bad rows are a 422 naming each (line, column, reason) and nothing is
    written. Otherwise 202 and a job to follow at the `Location` it gives."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type not in ("text/csv", "application/csv"):
        raise UnsupportedMediaType("Send the file as the body with Content-Type: text/csv.")
    data = await request.body()  # at most MAX_UPLOAD: api.body_limit refuses a larger one
    status = await import_jobs.start_import(sessions, redis, data)
    response.headers["Location"] = f"/api/admin/imports/{status['id']}"
    return status


@router.get("/api/admin/imports/{job_id}", responses=responses(401, 403, 404, 422))
async def import_status(job_id: uuid.UUID, redis: RedisClient) -> dict[str, Any]:
    """running, succeeded (with what changed) or failed (the batches before stay written;
    importing the file again finishes the job)."""
    return await import_jobs.import_status(redis, job_id)


@router.get(
    "/api/admin/exports/products",
    response_class=StreamingResponse,
    responses={
        200: {"content": {"text/csv": {"schema": {"type": "string"}}}},
        **responses(401, 403),
    },
)
async def export_products(sessions: Sessions) -> StreamingResponse:
    """The live catalog as CSV in the import's format (a row per variant, stock per
    warehouse), streamed. Cells a spreadsheet would run as formulas start with `'`; an
    import takes it off again, so the file can be edited and imported back."""
    return StreamingResponse(
        exports.export_products(sessions),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="products.csv"'},
    )
