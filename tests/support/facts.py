"""Builders of storefront messages for tests (JSON bytes as a storefront sends them)."""

from __future__ import annotations

from typing import Any

import orjson


def message(event_id: str, type_: str, customer: str, at: str, data: dict[str, Any]) -> bytes:
    return orjson.dumps(
        {"event_id": event_id, "type": type_, "occurred_at": at, "customer_id": customer,
         "data": data}
    )


def order(event_id: str, customer: str, total: str, shipping: str = "0.00",
          at: str = "2025-03-01T10:00:00+03:00", order_id: str | None = None,
          currency: str = "SAR", category: str = "fashion") -> bytes:
    return message(event_id, "order.placed", customer, at, {
        "order_id": order_id or f"o-{event_id}",
        "currency": currency,
        "total": total,
        "shipping": shipping,
        "lines": [{"sku": "sku-1", "category": category, "quantity": 1, "unit_price": total}],
    })


def registered(event_id: str, customer: str, at: str = "2025-01-01T09:00:00+03:00",
               newsletter: bool = False) -> bytes:
    return message(event_id, "customer.registered", customer, at, {"newsletter": newsletter})
