"""The /admin page in headless Chromium: signs in as a shop's admin would, and draws every
chart with the shop's own figures, on a desktop and on a phone.

Screenshots go to `test-artifacts/` at the repository's root.
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, Page, async_playwright

from api.app import create_app
from bootstrap.settings import Settings
from commerce.db import transaction
from demo.catalog import DEMO_USERS, ensure_demo_users
from tests.history_shop import FIRST, LAST, Shop
from tests.served import served as served_app

ARTIFACTS = Path(__file__).parents[2] / "test-artifacts"
#: Chromium in a closed sandbox: no first-run work, no calls home (DEVELOPERS' env notes).
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
CHARTS = ("revenue-chart", "products-chart", "funnel-chart")


@pytest.fixture(scope="module")
async def served(settings: Settings, shop: Shop) -> AsyncIterator[str]:
    """The API on the history shop's database and warehouse, over real HTTP."""
    async with transaction(shop.sessions) as session:
        await ensure_demo_users(session)
    shop_settings = Settings.model_validate(
        {**settings.model_dump(), "database_url": shop.database_url, "warehouse_path": shop.root}
    )
    with served_app(create_app(shop_settings), "dashboard API") as url:
        yield url


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    assert found, "Chromium is needed: `apt-get install chromium` (scripts/bootstrap dev does)"
    return found


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=chromium(), args=CHROMIUM_FLAGS)
        yield launched
        await launched.close()


@pytest.fixture
def artifacts() -> Iterator[Path]:
    ARTIFACTS.mkdir(exist_ok=True)
    yield ARTIFACTS


async def signed_in(browser: Browser, url: str, **viewport: int) -> Page:
    page = await browser.new_page(viewport={"width": 1280, "height": 900, **viewport})
    failed: list[str] = []
    page.on("pageerror", lambda error: failed.append(str(error)))
    page.on(
        "response",
        lambda response: (
            failed.append(f"{response.status} {response.url}") if response.status >= 400 else None
        ),
    )
    await page.goto(f"{url}/admin?period=monthly&from={FIRST}&to={LAST}")
    email, password, *_ = DEMO_USERS[0]
    await page.fill("#sign-in input[name=email]", email)
    await page.fill("#sign-in input[name=password]", password)
    await page.click("#sign-in button[type=submit]")
    await page.wait_for_selector("body[data-report=shown][data-realtime=shown]", timeout=30_000)
    assert failed == []
    return page


async def chart_points(page: Page, chart: str) -> Any:
    return await page.eval_on_selector(f"#{chart}", "canvas => Number(canvas.dataset.points)")


async def test_an_admin_signs_in_and_every_chart_draws_the_shops_figures(
    browser: Browser, served: str, shop: Shop, artifacts: Path
) -> None:
    page = await signed_in(browser, served)

    async with httpx.AsyncClient(base_url=served) as http:
        response = await http.get(
            "/api/admin/dashboard/monthly",
            params={"from": str(FIRST), "to": str(LAST)},
            headers={"Authorization": f"Bearer {await access_token(page)}"},
        )
    expected = response.json()
    assert await chart_points(page, "revenue-chart") == 2 * len(expected["series"]) == 6
    assert await chart_points(page, "products-chart") == min(10, len(expected["top_products"])) > 0
    assert await chart_points(page, "funnel-chart") == len(expected["funnel"]) > 0
    cohorts = await page.eval_on_selector("#cohorts", "t => Number(t.dataset.cohorts)")
    assert cohorts == len({row["cohort"] for row in expected["cohorts"]}) > 0
    for chart in CHARTS:  # something was painted, not just configured
        assert await painted(page, chart), chart
    orders = await page.text_content("[data-total=orders]")
    assert orders == f"{expected['totals']['orders']:,}"
    assert "variants with" in (await page.text_content("#low-stock-count") or "")
    await page.screenshot(path=artifacts / "admin-dashboard.png", full_page=True)


async def test_the_page_fits_a_phone_screen(browser: Browser, served: str, artifacts: Path) -> None:
    page = await signed_in(browser, served, width=390, height=844)

    overflow = await page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0
    for chart in CHARTS:
        box = await page.locator(f"#{chart}").bounding_box()
        assert box is not None and 0 < box["width"] <= 390
    await page.screenshot(path=artifacts / "admin-dashboard-phone.png", full_page=True)


async def test_a_wrong_password_is_shown_and_nothing_is_drawn(
    browser: Browser, served: str
) -> None:
    page = await browser.new_page()
    await page.goto(f"{served}/admin")
    await page.fill("#sign-in input[name=email]", DEMO_USERS[0][0])
    await page.fill("#sign-in input[name=password]", "not-the-password-at-all")
    await page.click("#sign-in button[type=submit]")

    error = page.locator("#sign-in .error")
    await error.wait_for(state="visible")
    assert await error.text_content()
    assert await page.locator("#dashboard").is_hidden()


async def test_the_page_loads_nothing_from_elsewhere(served: str) -> None:
    async with httpx.AsyncClient(base_url=served) as http:
        response = await http.get("/admin")
        script = await http.get("/admin/assets/vendor/chart.umd.min.js")

    assert response.status_code == 200
    assert "default-src 'self'" in response.headers["content-security-policy"]
    assert "http" not in response.text.replace(served, "")
    assert script.status_code == 200 and "Chart.js v4" in script.text[:200]


async def access_token(page: Page) -> str:
    token: str = await page.evaluate(
        "JSON.parse(sessionStorage.getItem('storefront.admin.tokens')).access_token"
    )
    return token


async def painted(page: Page, chart: str) -> bool:
    """Whether the canvas holds pixels of more than one colour."""
    distinct: int = await page.eval_on_selector(
        f"#{chart}",
        """canvas => {
            const context = canvas.getContext('2d');
            const data = context.getImageData(0, 0, canvas.width, canvas.height).data;
            const seen = new Set();
            for (let i = 0; i < data.length && seen.size < 3; i += 4 * 97) {
                seen.add(data.slice(i, i + 4).join());
            }
            return seen.size;
        }""",
    )
    return distinct > 1
