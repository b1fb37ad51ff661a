"""The benchmark's workloads and how they reach the broker (a helper of scripts/bench.py).

Two workloads, both deterministic for a seed:

- ``realistic(n)``: the demo generator's year of a store (registrations, orders, refunds,
  reviews, shares, referrals, surveys, a few malformed messages and exact re-sends), sized to
  ``n`` facts by choosing the number of customers (about 21 facts per customer per year).
- ``enrolment(m)``: ``m`` members registering within a week (a program launch enrolling an
  existing customer base): one ``customer.registered`` fact per member, for the memory path.

Publishing skips schema validation on purpose (the worker must see the malformed messages);
each line goes to its type's topic keyed by its customer id.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import orjson
from aiokafka import AIOKafkaProducer

from engine.broker import ensure_topics
from engine.contract import TOPIC_BY_TYPE, Fact, encode
from engine.demo.generate import DEFAULT_START, generate
from engine.streams.worker import all_topics

FACTS_PER_CUSTOMER = 21.0  # measured on the generator's default mix (seed 7)
FALLBACK_TOPIC = "loyalty.orders"  # where a message without a known type is sent


@dataclass
class Workload:
    name: str
    lines: list[bytes]
    customers: list[str] = field(default_factory=list)
    mix: Counter[str] = field(default_factory=Counter)

    @property
    def facts(self) -> int:
        return len(self.lines)


def realistic(n: int, seed: int = 7, cache_dir: Path | None = None) -> Workload:
    """About ``n`` facts (exactly ``n`` when the generated year has more) of the demo mix."""
    cached = cache_dir / f"realistic-{n}-{seed}.jsonl" if cache_dir else None
    if cached is not None and cached.exists():
        lines = cached.read_bytes().splitlines()
    else:
        customers = max(20, int(n / FACTS_PER_CUSTOMER * 1.05) + 1)
        lines = generate(customers=customers, seed=seed, malformed=max(5, n // 5000),
                         duplicates=max(10, n // 1000))
        while len(lines) < n:  # a seed with a quieter year: ask for more customers
            customers = int(customers * n / len(lines) * 1.05) + 1
            lines = generate(customers=customers, seed=seed, malformed=max(5, n // 5000),
                             duplicates=max(10, n // 1000))
        lines = lines[:n]
        if cached is not None:
            cached.parent.mkdir(parents=True, exist_ok=True)
            cached.write_bytes(b"\n".join(lines) + b"\n")
    return _described("realistic", lines)


def enrolment(members: int, days: int = 7) -> Workload:
    """One registration per member, spread evenly over ``days`` days of engine time."""
    step = timedelta(days=days) / max(1, members)
    lines = [
        encode(Fact(f"evt-enrol-{i:07d}", "customer.registered", DEFAULT_START + step * i,
                    f"member-{i:07d}", {"newsletter": i % 3 == 0}))
        for i in range(members)
    ]
    return _described("enrolment", lines)


def _described(name: str, lines: list[bytes]) -> Workload:
    """The workload with its mix of types and its members (customers who registered)."""
    mix: Counter[str] = Counter()
    members: set[str] = set()
    for line in lines:
        _, key, fact_type = route(line)
        mix[fact_type or "malformed"] += 1
        if key and fact_type == "customer.registered":
            members.add(key.decode())
    return Workload(name, lines, sorted(members), mix)


def route(line: bytes) -> tuple[str, bytes | None, str | None]:
    """(topic, key, type) of a raw line; a line without a known type goes to the orders topic."""
    try:
        obj = orjson.loads(line)
    except orjson.JSONDecodeError:
        return FALLBACK_TOPIC, None, None
    if not isinstance(obj, dict):
        return FALLBACK_TOPIC, None, None
    fact_type, customer = obj.get("type"), obj.get("customer_id")
    key = customer.encode() if isinstance(customer, str) else None
    if fact_type not in TOPIC_BY_TYPE:
        return FALLBACK_TOPIC, key, None
    return TOPIC_BY_TYPE[fact_type], key, fact_type


async def publish(bootstrap: str, lines: list[bytes]) -> dict[str, int]:
    """Create the engine's topics, send every line, and return the next offset of every source
    partition the lines went to ("topic#partition" -> offset): what a worker must reach.

    The offsets come from the producer's acknowledgements: the embedded broker answers a
    ListOffsets(latest) request with the last batch's offset, below the high watermark."""
    await ensure_topics(bootstrap, all_topics())
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=20,
                                max_batch_size=256 * 1024)
    ends: dict[str, int] = {}
    await producer.start()
    try:
        pending = []
        for line in lines:
            topic, key, _ = route(line)
            pending.append(await producer.send(topic, line, key=key))
            if len(pending) >= 20000:
                _note_offsets(ends, await asyncio.gather(*pending))
                pending.clear()
        _note_offsets(ends, await asyncio.gather(*pending))
    finally:
        await producer.stop()
    return ends


def _note_offsets(ends: dict[str, int], acks: list[Any]) -> None:
    for ack in acks:
        key = f"{ack.topic}#{ack.partition}"
        ends[key] = max(ends.get(key, 0), ack.offset + 1)


def publish_sync(bootstrap: str, lines: list[bytes]) -> tuple[dict[str, int], float]:
    started = time.perf_counter()
    ends = asyncio.run(publish(bootstrap, lines))
    return ends, time.perf_counter() - started
