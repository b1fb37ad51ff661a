"""The back-office HTTP API: balances and health, behind an API key (X-API-Key header)."""

from __future__ import annotations

import hmac
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Header, HTTPException, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from engine.config import Settings
from engine.errors import LoyaltyError
from engine.projections.balances import read_balance
from engine.store import LoyaltyStore, open_store


class Balance(BaseModel):
    """A member's balance view, as the balance projection holds it."""

    customer_id: str
    available: int = Field(description="Active points that can be redeemed now")
    pending: int = Field(description="Points still inside the return window")
    lifetime_earned: int
    redeemed: int = 0
    reversed: int = 0
    expired: int = 0
    tier: str
    qualifying_points: int = 0
    last_activity: str | None = None

    model_config = {"extra": "allow"}


class Health(BaseModel):
    status: str
    store: str


class Problem(BaseModel):
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


def create_api(
    settings: Settings, opener: Callable[[Settings], LoyaltyStore] = open_store
) -> FastAPI:
    holder = StoreHolder(settings, opener)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        holder.close()

    app = FastAPI(
        title="Loyalty engine back-office API",
        version="0.1.0",
        description="Balances, history and redemptions of loyalty members. Every endpoint but "
        "`/healthz` needs the `X-API-Key` header.",
        lifespan=lifespan,
    )

    def require_key(x_api_key: Annotated[str | None, Header()] = None) -> None:
        supplied = (x_api_key or "").encode()
        if not hmac.compare_digest(supplied, settings.api_key.encode()):
            raise HTTPException(status_code=401, detail="missing or wrong X-API-Key header")

    @app.exception_handler(LoyaltyError)
    async def loyalty_error(_: Request, exc: LoyaltyError) -> JSONResponse:
        return JSONResponse(status_code=503, content={"detail": str(exc)})

    @app.get("/healthz", response_model=Health, summary="Liveness and store reachability")
    def healthz() -> Any:
        try:
            holder.run(lambda s: s.sql.query("SELECT 1 AS one"))
        except Exception:
            return JSONResponse(status_code=503, content={"status": "unhealthy", "store": "down"})
        return {"status": "ok", "store": "ok"}

    @app.get(
        "/members/{customer_id}",
        response_model=Balance,
        responses={401: {"model": Problem}, 404: {"model": Problem}},
        dependencies=[Depends(require_key)],
        summary="A member's balance view",
    )
    def get_member(customer_id: str) -> Any:
        row = holder.run(lambda s: read_balance(s, customer_id))
        if row is None:
            raise HTTPException(status_code=404, detail=f"no member with customer id {customer_id!r}")
        return row

    app.state.holder = holder
    return app
