"""The back-office HTTP API. Every router but health needs the X-API-Key header."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel

from engine.api import audit, dashboard_support, limits, members, prometheus, redemptions
from engine.api import program_metrics, segments, tiers
from engine.api.deps import StoreHolder
from engine.config import Settings
from engine.errors import StoreUnavailable
from engine.store import LoyaltyStore, open_store


STATIC_DIR = Path(__file__).parent / "static"


class Health(BaseModel):
    status: str
    store: str


def create_api(
    settings: Settings, opener: Callable[[Settings], LoyaltyStore] = open_store
) -> FastAPI:
    store = StoreHolder(settings, opener)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        store.close()

    app = FastAPI(
        title="Loyalty engine back-office API",
        version="0.1.0",
        description="Balances, history and redemptions of loyalty members. Every endpoint but "
        "`/healthz` needs the `X-API-Key` header.",
        lifespan=lifespan,
    )
    app.state.holder = store
    limits.install(app)
    prometheus.install(app, store)

    @app.exception_handler(StoreUnavailable)
    async def store_down(_: Request, exc: StoreUnavailable) -> JSONResponse:
        return JSONResponse(status_code=503, content={"detail": "the store is unavailable"})

    @app.get("/healthz", response_model=Health, summary="Liveness and store reachability")
    async def healthz() -> Any:
        try:
            await store.read(lambda s: s.sql.query("SELECT 1 AS one"))
        except Exception:
            return JSONResponse(status_code=503, content={"status": "unhealthy", "store": "down"})
        return {"status": "ok", "store": "ok"}

    app.include_router(members.router)
    app.include_router(segments.router)
    app.include_router(program_metrics.router)
    app.include_router(tiers.router)
    app.include_router(redemptions.router)
    app.include_router(audit.router)
    app.include_router(dashboard_support.router)
    # The dashboard's static files; mounted last so that no API route is shadowed.
    app.mount("/", StaticFiles(directory=STATIC_DIR, html=True), name="dashboard")
    return app


def api_from_env() -> FastAPI:
    """The API configured by the LOYALTY_* environment: what ``loyalty api`` serves, built
    once in each of its worker processes."""
    return create_api(Settings.from_env())
