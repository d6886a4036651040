"""Admin dashboards: figures per day, week or month from the warehouse's rollups."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import StreamingResponse

from api.deps import Identity, RedisClient, Session
from api.problems import responses
from commerce.currency.money import Currency
from dashboards import service
from dashboards.realtime import Realtime, realtime
from dashboards.schemas import TABLES, Period, Report

router = APIRouter(prefix="/api/admin/dashboard", tags=["dashboards"])

Table = Literal[
    "series",
    "top_products",
    "top_categories",
    "funnel",
    "cohorts",
    "top_queries",
    "zero_result_queries",
]
PARQUET = "application/vnd.apache.parquet"


@router.get("/realtime", response_model=Realtime, responses=responses(401, 403))
async def realtime_dashboard(
    request: Request, session: Session, redis: RedisClient, identity: Identity
) -> Realtime:
    """Orders paid and revenue in the last hour and today (UTC), carts active in the last 30
    minutes, users signed in, variants low on stock (`STOREFRONT_LOW_STOCK_THRESHOLD` units
    or fewer across warehouses) and the latest paid orders. Counted live by the worker as
    orders are paid; not cached."""
    threshold = request.app.state.settings.low_stock_threshold
    return await realtime(session, redis, identity.sessions, threshold, datetime.now(UTC))


@router.get(
    "/{period}",
    response_model=Report,
    responses={
        **responses(401, 403, 422),
        200: {
            "content": {"text/csv": {}, PARQUET: {}},
            "description": "The report (JSON), or one of its tables (`format=csv|parquet`).",
        },
    },
)
async def period_report(
    request: Request,
    redis: RedisClient,
    period: Period,
    start: Annotated[date | None, Query(alias="from")] = None,
    end: Annotated[date | None, Query(alias="to")] = None,
    currency: Currency | None = None,
    format: Literal["json", "csv", "parquet"] = "json",
    table: Table = "series",
) -> Response:
    """Revenue, orders, average order value, new and returning customers, refunds, top
    products and categories, the search → view → cart → checkout → order funnel, cohort
    retention by first-order month, and search zero-result rate and top queries, for the
    UTC days `from`..`to` (default: the last 30 days, 12 weeks or 12 months to today).

    Without `currency`, every order counts, in dollars at the rate it was placed at; with
    it, only orders placed in that currency, in it. Computed from rollups and cached five
    minutes; `as_of` says when the warehouse last took in data. `format=csv|parquet`
    downloads one table of the report (`table=`, default `series`).
    """
    today = datetime.now(UTC).date()
    start, end = service.window(period, start, end, today)
    root = request.app.state.settings.warehouse_dir
    found = await service.period_report(redis, root, period, start, end, currency)
    if format == "json":
        return Response(found.model_dump_json(), media_type="application/json")
    rows, model = service.table_rows(found, table), TABLES[table]
    name = f"{period.value}-{table}-{start}-{end}"
    if format == "csv":
        return StreamingResponse(
            service.csv_lines(rows, model),
            media_type="text/csv",
            headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
        )
    return Response(
        service.parquet_bytes(rows, model),
        media_type=PARQUET,
        headers={"Content-Disposition": f'attachment; filename="{name}.parquet"'},
    )
