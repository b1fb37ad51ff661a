"""Bounds and error hygiene of the API: request bodies are capped, and an unexpected error
answers a plain 500 (a store outage a 503) without tracebacks or internals."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from engine.service import is_infrastructure

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 64 * 1024


class BodyLimit:
    """Refuses request bodies over ``max_bytes`` with 413, whether or not Content-Length is
    given (chunked bodies are counted as they arrive)."""

    def __init__(self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(scope, receive, send)
            return
        # Read the (small, bounded) body first, so an oversized chunked body is refused
        # before any endpoint sees it; then replay it to the app.
        messages: list[Message] = []
        received = 0
        while True:
            message = await receive()
            messages.append(message)
            received += len(message.get("body", b""))
            if received > self.max_bytes:
                await self._refuse(scope, receive, send)
                return
            if message["type"] != "http.request" or not message.get("more_body"):
                break

        async def replay() -> Message:
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = JSONResponse(
            status_code=413,
            content={"detail": f"request body larger than {self.max_bytes} bytes"},
        )
        await response(scope, receive, send)


def install(app: FastAPI) -> None:
    app.add_middleware(BodyLimit)

    @app.exception_handler(Exception)
    async def unexpected(_: Request, exc: Exception) -> Any:
        if is_infrastructure(exc):
            log.warning("store unavailable: %s", type(exc).__name__)
            return JSONResponse(status_code=503, content={"detail": "the store is unavailable"})
        log.exception("unhandled error")
        return JSONResponse(status_code=500, content={"detail": "internal error"})
