"""Malformed storefront messages: one kind per mistake a real producer makes."""

from __future__ import annotations

import copy
from typing import Any

import orjson

# The first five are the ones every demo stream carries; more cycle in when more are asked for.
KINDS: tuple[str, ...] = (
    "not_json",
    "missing_field",
    "bad_type",
    "unknown_type",
    "no_offset",
    "negative_amount",
    "bad_currency",
    "control_character",
    "not_an_object",
    "unknown_field",
)


def poison(kind: str, order: dict[str, Any], event_id: str) -> bytes:
    """A message derived from a valid ``order.placed`` envelope that breaks the contract once."""
    message = copy.deepcopy(order)
    message["event_id"] = event_id
    data = message["data"]
    if kind == "not_json":
        return orjson.dumps(message)[:-9]  # a producer that died mid-write
    if kind == "missing_field":
        del message["customer_id"]
    elif kind == "bad_type":
        data["total"] = float(data["total"])  # money as a float
    elif kind == "unknown_type":
        message["type"] = "order.shipped"
    elif kind == "no_offset":
        message["occurred_at"] = message["occurred_at"][:19]
    elif kind == "negative_amount":
        message["type"] = "order.refunded"
        message["data"] = {"order_id": data["order_id"], "amount": "-5.00"}
    elif kind == "bad_currency":
        data["currency"] = data["currency"].lower()
    elif kind == "control_character":
        message["customer_id"] += "\x00"
    elif kind == "not_an_object":
        return orjson.dumps([message])
    elif kind == "unknown_field":
        message["coupon"] = "RAMADAN25"
    else:
        raise ValueError(f"unknown kind of malformed message {kind!r}; known: {', '.join(KINDS)}")
    return orjson.dumps(message)
