"""Publishing storefront facts: validate each JSON line, send it to its topic keyed by customer."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from aiokafka import AIOKafkaProducer

from engine.contract import Fact, decode, topic_for
from engine.errors import BrokerUnavailable, InvalidFact
from engine.signing import sign


@dataclass
class PublishReport:
    by_topic: Counter[str] = field(default_factory=Counter)
    refused: list[tuple[int, str]] = field(default_factory=list)

    @property
    def sent(self) -> int:
        return sum(self.by_topic.values())


def check_lines(lines: Iterable[bytes]) -> tuple[list[tuple[bytes, Fact]], list[tuple[int, str]]]:
    """Split lines into valid (raw, fact) pairs and refusals (line number, reason).

    Blank lines are ignored; line numbers count from 1.
    """
    good: list[tuple[bytes, Fact]] = []
    refused: list[tuple[int, str]] = []
    for number, line in enumerate(lines, start=1):
        raw = line.strip()
        if not raw:
            continue
        try:
            good.append((raw, decode(raw)))
        except InvalidFact as exc:
            refused.append((number, exc.reason))
    return good, refused


@dataclass(frozen=True)
class Signer:
    """Signs records for one storefront (Standard Webhooks headers; see engine.signing)."""

    store: str
    secret: str = field(repr=False)

    def headers(self, fact: Fact, raw: bytes) -> list[tuple[str, bytes]]:
        return sign(self.secret, fact.event_id, int(time.time()), raw, self.store)


async def send_facts(bootstrap: str, facts: list[tuple[bytes, Fact]],
                     signer: Signer | None = None) -> Counter[str]:
    """Send each raw fact to its topic keyed by customer id; waits until the broker has all."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=10)
    try:
        await producer.start()
    except Exception as exc:
        raise BrokerUnavailable(f"cannot reach the broker at {bootstrap}: {exc}") from exc
    counts: Counter[str] = Counter()
    try:
        futures = []
        for raw, fact in facts:
            topic = topic_for(fact.type)
            headers = signer.headers(fact, raw) if signer is not None else None
            futures.append(await producer.send(topic, raw, key=fact.customer_id.encode(),
                                               headers=headers))
            counts[topic] += 1
        for future in futures:
            await future
    finally:
        await producer.stop()
    return counts


async def publish_lines(bootstrap: str, lines: Iterable[bytes],
                        signer: Signer | None = None) -> PublishReport:
    good, refused = check_lines(lines)
    report = PublishReport(refused=refused)
    report.by_topic = await send_facts(bootstrap, good, signer)
    return report


async def send_raw(bootstrap: str, topic: str, values: list[tuple[bytes | None, bytes]]) -> None:
    """Send raw (key, value) records to one topic unchecked: for the demo's malformed messages
    and for tests that play a misbehaving storefront."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        for key, value in values:
            await producer.send_and_wait(topic, value, key=key)
    finally:
        await producer.stop()
