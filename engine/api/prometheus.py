"""Prometheus metrics of the API process at GET /prometheus, behind the API key like the rest
(no member data: counts only; a scraper sends the X-API-Key header).

Request counts and latencies by route, redemptions by outcome, and ledger gauges read from the
read models at scrape time.
"""

from __future__ import annotations

import time
from typing import Any

from fastapi import Depends, FastAPI, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram
from prometheus_client import generate_latest
from prometheus_client.core import GaugeMetricFamily
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from engine.api.deps import StoreHolder, require_key


class LedgerCollector:
    """Gauges from the balance read model, read when Prometheus scrapes."""

    def __init__(self, holder: StoreHolder) -> None:
        self.holder = holder

    def collect(self) -> Any:
        try:
            row = self.holder.run(lambda s: s.sql.query(
                "SELECT COUNT(*) AS members, COALESCE(SUM(available), 0) AS available, "
                "COALESCE(SUM(pending), 0) AS pending FROM balances")[0])
            dead = self.holder.run(lambda s: s.sql.query(
                "SELECT COUNT(*) AS n FROM dead_letters")[0]["n"])
        except Exception:
            return  # the store is down: /healthz says so; no gauges this scrape
        yield GaugeMetricFamily("loyalty_members", "Enrolled members", value=row["members"])
        yield GaugeMetricFamily("loyalty_points_available", "Active points outstanding",
                                value=row["available"])
        yield GaugeMetricFamily("loyalty_points_pending", "Points inside the return window",
                                value=row["pending"])
        yield GaugeMetricFamily("loyalty_dead_letters", "Messages refused by the worker",
                                value=dead)


class Measure:
    """Counts each HTTP request by method, route template and status, and observes its
    latency. Plain ASGI: Starlette's ``BaseHTTPMiddleware`` runs every request through a task
    group and a memory stream, which cost more CPU than the balance read itself."""

    def __init__(self, app: ASGIApp, requests: Counter, latency: Histogram) -> None:
        self.app = app
        self.requests = requests
        self.latency = latency

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 0

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        # An exception that escapes the app is answered (500/503) by the outermost handler,
        # after this middleware: such requests are not counted here.
        await self.app(scope, receive, send_status)
        # The router records the matched route in the scope it was given.
        route = getattr(scope.get("route"), "path", "other")
        self.requests.labels(scope["method"], route, str(status)).inc()
        self.latency.labels(route).observe(time.perf_counter() - started)


def install(app: FastAPI, holder: StoreHolder) -> CollectorRegistry:
    registry = CollectorRegistry()
    requests = Counter("loyalty_api_requests", "HTTP requests", ["method", "route", "status"],
                       registry=registry)
    latency = Histogram("loyalty_api_request_seconds", "HTTP request latency", ["route"],
                        registry=registry)
    registry.register(LedgerCollector(holder))

    app.add_middleware(Measure, requests=requests, latency=latency)

    @app.get("/prometheus", include_in_schema=True, summary="Prometheus metrics",
             response_class=Response, dependencies=[Depends(require_key)])
    def prometheus() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return registry
