"""What every router shares: the store of the process and the API-key check."""

from __future__ import annotations

import hmac
import threading
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Header, HTTPException, Request
from pydantic import BaseModel

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

    def close(self) -> None:
        if self.store is not None:
            self.store.close()
            self.store = None


def holder(request: Request) -> StoreHolder:
    return request.app.state.holder  # type: ignore[no-any-return]


def require_key(request: Request, x_api_key: Annotated[str | None, Header()] = None) -> None:
    """Constant-time comparison of the X-API-Key header with the configured key."""
    expected = holder(request).settings.api_key.encode()
    if not hmac.compare_digest((x_api_key or "").encode(), expected):
        raise HTTPException(status_code=401, detail="missing or wrong X-API-Key header")


AUTH_RESPONSES: dict[int | str, dict[str, Any]] = {401: {"model": Problem}}
