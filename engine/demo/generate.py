"""A deterministic, realistic storefront stream for demos, benchmarks and tests.

``generate`` returns JSON lines (the bytes a storefront would publish) ordered by arrival:
by ``occurred_at``, except that an exact re-send arrives minutes after its original.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from datetime import datetime, timedelta, timezone
from pathlib import Path

import orjson

from engine.demo import activity
from engine.demo.customers import Customer, link_referrals, population
from engine.demo.poison import KINDS, poison
from engine.demo.stream import Stream

RIYADH = timezone(timedelta(hours=3))
DEFAULT_START = datetime(2025, 1, 1, tzinfo=RIYADH)


def generate(
    customers: int = 300,
    days: int = 365,
    seed: int = 7,
    start: datetime = DEFAULT_START,
    malformed: int = 5,
    duplicates: int = 10,
) -> list[bytes]:
    """The same JSON lines for the same arguments: registrations, orders, refunds, reviews,
    shares, referrals and surveys of ``customers`` people over ``days`` days from ``start``,
    plus ``malformed`` messages that break the contract and ``duplicates`` exact re-sends."""
    if start.utcoffset() is None:
        raise ValueError("start must be timezone-aware, e.g. 2025-01-01T00:00:00+03:00")
    if customers < 1 or days < 1 or malformed < 0 or duplicates < 0:
        raise ValueError("customers and days must be positive; malformed and duplicates >= 0")
    rng = random.Random(seed)
    stream = Stream(seed, start, start + timedelta(days=days))
    people = _customers(rng, customers, stream)
    for person in people:
        activity.register(rng, stream, person)
        activity.orders(rng, stream, person)
        activity.refunds(rng, stream, person)
        activity.reviews(rng, stream, person)
        activity.shares(rng, stream, person)
        activity.surveys(rng, stream, person)
    _add_malformed(rng, stream, malformed)
    _add_duplicates(rng, stream, duplicates)
    stream.records.sort(key=lambda record: (record.at, record.seq))
    return [record.line for record in stream.records]


def write_jsonl(path: str | Path, lines: Iterable[bytes]) -> int:
    """Write one message per line (creating parent folders); returns how many were written."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    written = 0
    with target.open("wb") as out:
        for line in lines:
            out.write(line.rstrip(b"\r\n") + b"\n")
            written += 1
    return written


def _customers(rng: random.Random, count: int, stream: Stream) -> list[Customer]:
    people = population(rng, count, stream.start, stream.end)
    link_referrals(rng, people, stream.end)
    return people


def _add_malformed(rng: random.Random, stream: Stream, count: int) -> None:
    orders = [record for record in stream.records if record.fact_type == "order.placed"]
    if count and not orders:
        raise ValueError("too small a stream to hide malformed messages in: no orders")
    for number in range(count):
        base = rng.choice(orders)
        line = poison(KINDS[number % len(KINDS)], orjson.loads(base.line), stream.new_id("bad"))
        stream.add(base.at + timedelta(seconds=rng.randint(1, 600)), line, None)


def _add_duplicates(rng: random.Random, stream: Stream, count: int) -> None:
    valid = [record for record in stream.records if record.fact_type is not None]
    for original in rng.sample(valid, min(count, len(valid))):
        resent_at = original.at + timedelta(minutes=rng.randint(1, 120))
        stream.add(resent_at, original.line, original.fact_type)
