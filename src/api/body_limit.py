"""Request bodies have a size limit, checked before and while they stream in.

FastAPI 0.165's own `max_body_size` counts the same way, but Starlette's limiter answers a
declared Content-Length over the limit with a `text/plain` 413 that replaces whatever the
app answered; here every refusal is the API's one error shape, a problem document.
"""

from __future__ import annotations

from collections.abc import Mapping

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.problems import PROBLEM_JSON, Problem

TITLE = "Content too large"


def limit_detail(limit: int) -> str:
    size = f"{limit // 2**20} MiB" if limit >= 2**20 else f"{limit // 1024} KiB"
    return f"Request bodies here take at most {size}."


class BodyLimit:
    """`default` bytes for every route, `by_path` for the few that take more (an import)."""

    def __init__(self, app: ASGIApp, default: int, by_path: Mapping[str, int]) -> None:
        self.app = app
        self.default = default
        self.by_path = dict(by_path)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.by_path.get(scope["path"], self.default)
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            await self.refuse(scope, send, limit)
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > limit:
                # Raised inside the route: FastAPI passes an HTTPException through its body
                # parsing (anything else becomes a 400), and the problem handler renders it.
                raise HTTPException(413, limit_detail(limit))
            return message

        await self.app(scope, counted, send)

    @staticmethod
    async def refuse(scope: Scope, send: Send, limit: int) -> None:
        body = Problem(title=TITLE, status=413, detail=limit_detail(limit), instance=scope["path"])
        payload = body.model_dump_json(exclude_none=True).encode()
        headers = [
            (b"content-type", PROBLEM_JSON.encode()),
            (b"content-length", str(len(payload)).encode()),
            (b"connection", b"close"),
        ]
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": payload})
