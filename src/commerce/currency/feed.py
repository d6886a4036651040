"""The rates provider adapter: the ECB's daily reference rates over HTTP."""

from __future__ import annotations

import httpx

from commerce.currency.rates import RateTable, from_ecb_xml

ECB_DAILY = "https://www.ecb.europa.eu/stats/eurofxref/eurofxref-daily.xml"


class RateFeedUnavailable(RuntimeError):
    """The feed did not answer with a document (network, status)."""


class EcbFeed:
    def __init__(self, http: httpx.AsyncClient, url: str = ECB_DAILY) -> None:
        self.http = http
        self.url = url

    async def fetch(self) -> RateTable:
        try:
            response = await self.http.get(self.url, timeout=10.0)
            response.raise_for_status()
        except httpx.HTTPError as error:
            raise RateFeedUnavailable(f"{self.url}: {error}") from error
        return from_ecb_xml(response.content, source=self.url)
