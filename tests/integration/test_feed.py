"""The worker's feed against the real broker: a fetch that finds nothing new comes back with
the next (empty) poll of the partitions, the news the sequencer waits for, rather than at the
end of its timeout."""

from __future__ import annotations

import asyncio
import time

from aiokafka import AIOKafkaProducer

from engine.broker import EmbeddedBroker, ensure_topics
from engine.contract import SOURCE_TOPICS
from engine.streams.feed import FETCH_MAX_WAIT_MS, Feed

TOPIC = SOURCE_TOPICS[0]


async def _scenario(bootstrap: str) -> tuple[int, list[float]]:
    await ensure_topics(bootstrap, {TOPIC: 1})
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        for n in range(20):
            await producer.send_and_wait(TOPIC, b"{}", key=f"c{n}".encode(), partition=0)
    finally:
        await producer.stop()
    feed = Feed(bootstrap)
    await feed.start()
    try:
        feed.assign({f"{TOPIC}#0": 0})
        got = 0
        deadline = time.monotonic() + 20
        while got < 20 and time.monotonic() < deadline:
            records, _ = await feed.fetch(1000)
            got += len(records)
        waits = []
        for _ in range(3):  # read to the end: nothing new is on its way
            started = time.monotonic()
            records, _ = await feed.fetch(5000)
            assert records == []
            waits.append(time.monotonic() - started)
        return got, waits
    finally:
        await feed.stop()


def test_a_fetch_with_nothing_new_returns_with_the_next_poll(fresh_broker: EmbeddedBroker):
    got, waits = asyncio.run(_scenario(fresh_broker.bootstrap))
    assert got == 20
    # Each empty poll takes the broker's wait (FETCH_MAX_WAIT_MS); the timeout is 5 s.
    assert max(waits) < 1.0, f"fetches waited {waits} s for nothing (poll wait " \
                             f"{FETCH_MAX_WAIT_MS} ms)"
