"""Malformed storefront messages, generated: everything a storefront can get wrong. Each one is
built from a real fact of the history (so it lands on that member's partition, between the
good messages) and gets an event id of its own, so the event-id guard cannot hide it.

``Poison.business`` marks the well-formed ones that only a business rule refuses (another
currency, a refund of an unknown order or beyond the order's total); every other one must be
refused by the contract itself, which ``malformed`` checks before handing it out.
"""

from __future__ import annotations

import copy
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from engine.contract import Fact, decode, topic_for
from engine.errors import InvalidFact
from tests.fault.kafka import Record

Mutation = Callable[[random.Random, dict[str, Any]], Any]
BIG = 70 * 1024  # above the contract's 64 KiB


@dataclass(frozen=True)
class Poison:
    kind: str
    record: Record
    business: bool = False


def _raw(value: bytes) -> Any:
    return _Raw(value)


class _Raw(bytes):
    """Bytes to send as they are (not an envelope to serialise)."""


def _drop(field: str) -> Mutation:
    def mutate(rng: random.Random, m: dict[str, Any]) -> Any:
        m.pop(field, None)
        return m
    return mutate


def _set(path: str, *values: Any) -> Mutation:
    def mutate(rng: random.Random, m: dict[str, Any]) -> Any:
        *parents, last = path.split(".")
        target = m
        for name in parents:
            target = target[name]
        target[last] = copy.deepcopy(rng.choice(values))
        return m
    return mutate


def _order_total(*values: str) -> Mutation:
    def mutate(rng: random.Random, m: dict[str, Any]) -> Any:
        m["type"] = "order.placed"
        m["data"] = {"order_id": f"fz-{rng.randrange(10**9)}", "currency": "SAR",
                     "total": rng.choice(values), "shipping": "0",
                     "lines": [{"sku": "FZ-1", "category": "fashion", "quantity": 1,
                                "unit_price": "1.00"}]}
        return m
    return mutate


def _refund(amount: Callable[[random.Random], str], known_order: bool) -> Mutation:
    def mutate(rng: random.Random, m: dict[str, Any]) -> Any:
        order_id = m["data"].get("order_id") if known_order else f"nope-{rng.randrange(10**9)}"
        m["type"], m["data"] = "order.refunded", {"order_id": order_id, "amount": amount(rng)}
        return m
    return mutate


def _unicode(rng: random.Random, m: dict[str, Any]) -> Any:
    choice = rng.randrange(6)
    if choice == 0:
        return _raw(orjson.dumps(m).replace(b'"event_id":"', b'"event_id":"\xed\xa0\x80', 1))
    if choice == 1:
        return _raw(orjson.dumps(m).replace(b'"event_id":"', b'"event_id":"\\ud800', 1))
    if choice == 2:
        return _raw(b"\xef\xbb\xbf" + orjson.dumps(m))  # a byte-order mark first
    field = rng.choice(["event_id", "customer_id"])
    m[field] = m[field] + rng.choice(["\u202e", "\u200b", "\u0000", "\ufeff", "é", "\U0001f600",
                                      "\x1b[31m", "\u0301"])
    return m


def _not_json(rng: random.Random, m: dict[str, Any]) -> Any:
    text = orjson.dumps(m)
    return _raw(rng.choice([
        text[: rng.randrange(1, len(text) - 1)], b"", b" ", b"\x00\x01\x02",
        bytes(rng.randrange(256) for _ in range(rng.randrange(1, 200))),
        text.replace(b":", b"=", 1), b"{'event_id': 'single quotes'}", text + b"}", b"NaN",
        b"[" * 5000 + b"]" * 5000,
    ]))


MUTATIONS: dict[str, Mutation] = {
    "not JSON": _not_json,
    "not an object": lambda rng, m: _raw(rng.choice([
        orjson.dumps([m]), b"null", b"42", b'"order.placed"', b"true", b"[]"])),
    "tombstone (no value)": lambda rng, m: None,
    "missing field": lambda rng, m: _drop(rng.choice(
        ["event_id", "type", "occurred_at", "customer_id", "data"]))(rng, m),
    "wrong types": lambda rng, m: rng.choice([
        _set("event_id", 12345, None, ["e"], {"id": 1}),
        _set("customer_id", 42, True, ["cust"], ""),
        _set("data", "order", [], 7, None),
        _set("occurred_at", 1735689600, None, {"at": "2025-01-01"}),
        _set("type", 1, None, ["order.placed"]),
    ])(rng, m),
    "huge payload": lambda rng, m: rng.choice([
        _set("customer_id", "c" * BIG), _set("event_id", "e" * BIG),
        _set("data.padding", "x" * BIG), _set("data.padding", "x" * (600 * 1024)),
    ])(rng, m),
    "unknown type": _set("type", "order.shipped", "ORDER.PLACED", "order.placed ", "",
                         "points.granted", "order"),
    "timestamp without offset": _set("occurred_at", "2025-03-01T10:00:00",
                                     "2025-03-01 10:00:00", "2025-03-01", "yesterday",
                                     "2025-02-30T10:00:00+03:00", "2025-13-01T10:00:00Z",
                                     "3025-01-01T10:00:00Z", "2025-03-01T25:00:00+03:00"),
    "negative amount": lambda rng, m: rng.choice([
        _order_total("-10.00", "-0.01"), _refund(lambda r: "-5.00", True),
        _refund(lambda r: "0", True), _refund(lambda r: "-0.00", True),
    ])(rng, m),
    "absurd amount": _order_total("1e308", "NaN", "Infinity", "9" * 40, "1.123456789",
                                  "12345678901234.00", "0x10", " 10.00", "10,00", "١٠٠"),
    "unknown field": lambda rng, m: {**m, rng.choice(["coupon", "points", "__proto__"]): 1},
    "another currency": _set("data.currency", "USD", "EUR", "XXX", "ZZZ"),
    "bad currency code": _set("data.currency", "sar", "SA", "SARR", "$", "", 5),
    "refund of an unknown order": _refund(lambda r: "10.00", False),
    "refund beyond the order total": _refund(lambda r: "999999999.00", True),
    "implausible order total": _order_total("999999999999.99", "5000000.00", "1000000.01"),
}
BUSINESS = frozenset({"another currency", "refund of an unknown order",
                      "refund beyond the order total", "implausible order total"})
ORDER_KINDS = frozenset({"another currency", "bad currency code"})


def malformed(facts: Sequence[Fact], count: int, seed: int) -> list[Poison]:
    """``count`` malformed messages, every kind in turn, each derived from a random order or
    other fact of the history; raises AssertionError if a supposedly broken one is valid."""
    rng = random.Random(seed)
    orders = [f for f in facts if f.type == "order.placed"]
    kinds = sorted(MUTATIONS)
    out: list[Poison] = []
    for number in range(count):
        kind = kinds[number % len(kinds)]
        base = rng.choice(orders if kind in ORDER_KINDS or "refund" in kind else facts)
        envelope = {"event_id": f"fuzz-{seed}-{number:06d}", "type": base.type,
                    "occurred_at": base.occurred_at.isoformat(),
                    "customer_id": base.customer_id, "data": copy.deepcopy(base.data)}
        value = MUTATIONS[kind](rng, envelope)
        raw = None if value is None else (bytes(value) if isinstance(value, _Raw)
                                          else orjson.dumps(value))
        business = kind in BUSINESS
        if raw is not None and not business:
            _must_be_invalid(kind, raw)
        topic = base.type if business else rng.choice([base.type, "order.placed",
                                                       "review.posted"])
        out.append(Poison(kind, Record(topic_for(topic), base.customer_id.encode(), raw),
                          business))
    return out


def _must_be_invalid(kind: str, raw: bytes) -> None:
    try:
        decode(raw)
    except InvalidFact:
        return
    raise AssertionError(f"the fuzzer made a valid message for {kind!r}: {raw[:300]!r}")


def interleave(good: Sequence[Record], bad: Sequence[Record], seed: int) -> list[Record]:
    """The good records in their order with the bad ones spread at random places among them."""
    rng = random.Random(seed)
    slots = sorted(rng.randrange(len(good) + 1) for _ in bad)
    out: list[Record] = []
    cursor = 0
    for slot, record in zip(slots, bad):
        out.extend(good[cursor:slot])
        out.append(record)
        cursor = slot
    out.extend(good[cursor:])
    return out
