"""The admin dashboard page: one HTML file, its script and style, and Chart.js, all shipped in
this package (no CDN); the page signs in and reads the dashboard endpoints."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from commerce.currency.money import SUPPORTED

ASSETS = Path(__file__).parent / "static"
#: Scripts and styles from this server only: nothing inline, nothing from elsewhere.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'"
)


@cache
def admin_page() -> str:
    options = "".join(f"<option>{code}</option>" for code in SUPPORTED)
    return (ASSETS / "admin.html").read_text().replace("<!--currencies-->", options)
