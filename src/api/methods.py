"""OPTIONS and 405 that tell the truth: `Allow` lists every method of the path.

Starlette answers a method a path lacks with 405 and the methods of the first route that
matched the path only (PATCH and DELETE of one path are two routes), and has no OPTIONS.
This middleware answers both from all routes of the path, as problem details for the 405.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable

from fastapi.routing import APIRoute
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from api.problems import PROBLEM_JSON, Problem


class AllowedMethods:
    def __init__(self, app: ASGIApp, routes: Iterable[APIRoute]) -> None:
        self.app = app
        self.routes = list(routes)
        # Matching every route's pattern on every request was 8% of the API's CPU in a
        # checkout (bench/checkout); the routes are fixed, so a path's answer is too.
        self.allowed = functools.lru_cache(maxsize=4096)(self._allowed)

    def _allowed(self, path: str) -> frozenset[str]:
        methods: set[str] = set()
        for route in self.routes:
            if route.path_regex.match(path):
                methods |= route.methods or set()
        return frozenset(methods | {"OPTIONS"} if methods else methods)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        allowed = self.allowed(scope["path"])
        method = scope["method"]
        if not allowed or method in allowed - {"OPTIONS"}:
            await self.app(scope, receive, send)
            return
        allow = ", ".join(sorted(allowed))
        response: Response
        if method == "OPTIONS":
            response = Response(status_code=204, headers={"Allow": allow})
        else:
            detail = f"{method} is not allowed here; allowed: {allow}."
            body = Problem(
                title="Method Not Allowed", status=405, detail=detail, instance=scope["path"]
            )
            response = JSONResponse(
                body.model_dump(exclude_none=True),
                status_code=405,
                media_type=PROBLEM_JSON,
                headers={"Allow": allow},
            )
        await response(scope, receive, send)
