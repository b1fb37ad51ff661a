"""What every router shares: the store of the process and the API-key check."""

from __future__ import annotations

import hmac
import threading
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Header, HTTPException, Request
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from engine.config import Settings
from engine.store import LoyaltyStore


class Problem(BaseModel):
    """An error: what went wrong, in words a person can act on."""

    detail: str


class StoreHolder:
    """One store per API process; calls are serialised (the SQLite session is one connection)."""

    def __init__(self, settings: Settings, opener: Callable[[Settings], LoyaltyStore]) -> None:
        self.settings = settings
        self.opener = opener
        self.store: LoyaltyStore | None = None
        self.lock = threading.Lock()

    def run(self, fn: Callable[[LoyaltyStore], Any]) -> Any:
        with self.lock:
            if self.store is None:
                self.store = self.opener(self.settings)
            return fn(self.store)

    async def read(self, fn: Callable[[LoyaltyStore], Any]) -> Any:
        """``run`` for a short read (a few indexed rows) from an ``async def`` endpoint.

        On an open SQLite store that no other request is using, ``fn`` runs right here on the
        event loop: such a read takes microseconds, less than handing it to a worker thread
        and back. Otherwise (store not yet open, in use by a thread, or PostgreSQL, whose reads
        wait on the network) it runs in the thread pool like a plain ``def`` endpoint, so the
        event loop never waits for a lock or a server."""
        if not self.settings.is_postgres and self.lock.acquire(blocking=False):
            try:
                if self.store is not None:
                    return fn(self.store)
            finally:
                self.lock.release()
        return await run_in_threadpool(self.run, fn)

    def close(self) -> None:
        if self.store is not None:
            self.store.close()
            self.store = None


# The two dependencies are ``async def`` because they do no I/O: a plain ``def`` dependency
# costs a hand-off to the thread pool and back on every request.
async def holder(request: Request) -> StoreHolder:
    return request.app.state.holder  # type: ignore[no-any-return]


async def require_key(request: Request,
                      x_api_key: Annotated[str | None, Header()] = None) -> None:
    """Constant-time comparison of the X-API-Key header with the configured key."""
    expected = request.app.state.holder.settings.api_key.encode()
    if not hmac.compare_digest((x_api_key or "").encode(), expected):
        raise HTTPException(status_code=401, detail="missing or wrong X-API-Key header")


AUTH_RESPONSES: dict[int | str, dict[str, Any]] = {401: {"model": Problem}}
