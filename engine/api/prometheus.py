"""Prometheus metrics of the API process at GET /prometheus, behind the API key like the rest
(no member data: counts only; a scraper sends the X-API-Key header).

Request counts and latencies by route, redemptions by outcome, and ledger gauges read from the
read models at scrape time.
"""

from __future__ import annotations

import time
from typing import Any

from fastapi import Depends, FastAPI, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram
from prometheus_client import generate_latest
from prometheus_client.core import GaugeMetricFamily

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


def install(app: FastAPI, holder: StoreHolder) -> CollectorRegistry:
    registry = CollectorRegistry()
    requests = Counter("loyalty_api_requests", "HTTP requests", ["method", "route", "status"],
                       registry=registry)
    latency = Histogram("loyalty_api_request_seconds", "HTTP request latency", ["route"],
                        registry=registry)
    registry.register(LedgerCollector(holder))

    @app.middleware("http")
    async def measure(request: Request, call_next: Any) -> Any:
        started = time.perf_counter()
        response = await call_next(request)
        route = getattr(request.scope.get("route"), "path", "other")
        requests.labels(request.method, route, str(response.status_code)).inc()
        latency.labels(route).observe(time.perf_counter() - started)
        return response

    @app.get("/prometheus", include_in_schema=True, summary="Prometheus metrics",
             response_class=Response, dependencies=[Depends(require_key)])
    def prometheus() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return registry
