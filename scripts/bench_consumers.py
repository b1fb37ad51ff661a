"""The ingest baselines of scripts/bench.py, each run as its own process over the loaded topics:

    python scripts/bench_consumers.py faust BOOTSTRAP EXPECTED
    python scripts/bench_consumers.py aiokafka BOOTSTRAP EXPECTED

``faust``: a faust-streaming agent that only counts, with faust's default settings except what a
one-shot process on the embedded broker needs (earliest offsets for topics loaded beforehand, no
web server, and the worker's group timeouts (2 s rebalance, 6 s session), without which the
embedded broker takes 30 s to form the group; none of these is on the per-message path). Values stay raw bytes: faust's default json serializer would
crash the agent on the workload's malformed messages (faust-streaming #527), and the counting
agent has no use for the decoded value.

``aiokafka``: the ceiling: a bare aiokafka consumer assigned every source partition, decoding each
value with orjson.

Both print one JSON line: messages counted, seconds from the start of consumption (partition
assignment for faust, the first fetch for aiokafka) to the last message, and the rate.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import time
import uuid
from typing import Any

import orjson

from engine.contract import SOURCE_TOPICS

IDLE_SECONDS = 3.0
DEADLINE_SECONDS = 1800.0


def report(kind: str, count: int, started: float | None, last: float | None) -> None:
    seconds = (last - started) if started is not None and last is not None else 0.0
    sys.stdout.write(orjson.dumps({
        "kind": kind, "messages": count, "seconds": seconds,
        "rate": count / seconds if seconds > 0 else 0.0,
    }).decode() + "\n")


async def faust_counter(bootstrap: str, expected: int) -> None:
    import faust

    app = faust.App(
        f"bench-faust-{uuid.uuid4().hex[:8]}",
        broker=f"kafka://{bootstrap}",
        store="memory://",
        web_enabled=False,
        consumer_auto_offset_reset="earliest",
        broker_rebalance_timeout=2.0,
        broker_session_timeout=6.0,
        broker_heartbeat_interval=1.0,
    )
    state: dict[str, Any] = {"count": 0, "started": None, "last": None}

    @app.on_partitions_assigned.connect  # type: ignore[arg-type]
    async def _assigned(_app: Any, assigned: Any, **_: Any) -> None:
        if assigned and state["started"] is None:
            state["started"] = time.monotonic()

    @app.agent(app.topic(*SOURCE_TOPICS, value_serializer="raw"), name="count")
    async def count(stream: Any) -> None:
        async for _value in stream:
            state["count"] += 1
            state["last"] = time.monotonic()

    await app.start()
    try:
        await _wait(state, expected)
    finally:
        await app.stop()
    report("faust", state["count"], state["started"], state["last"])


async def aiokafka_ceiling(bootstrap: str, expected: int) -> None:
    from aiokafka import AIOKafkaConsumer, TopicPartition

    from engine.broker import DEFAULT_PARTITIONS

    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False,
                                auto_offset_reset="earliest")
    await consumer.start()
    partitions = [TopicPartition(t, p) for t in SOURCE_TOPICS for p in range(DEFAULT_PARTITIONS)]
    consumer.assign(partitions)
    await consumer.seek_to_beginning(*partitions)
    count, bad, last = 0, 0, None
    started = time.monotonic()
    deadline = started + DEADLINE_SECONDS
    try:
        while count < expected and time.monotonic() < deadline:
            batches = await consumer.getmany(timeout_ms=int(IDLE_SECONDS * 1000))
            if not batches:
                break
            for records in batches.values():
                for record in records:
                    try:
                        orjson.loads(record.value)
                    except orjson.JSONDecodeError:
                        bad += 1
                    count += 1
            last = time.monotonic()
    finally:
        await consumer.stop()
    report("aiokafka", count, started, last)


async def _wait(state: dict[str, Any], expected: int) -> None:
    """Until every message is counted, or nothing new came for IDLE_SECONDS (faust skips a value
    its serializer cannot decode, so a few malformed messages are never counted)."""
    begun = time.monotonic()
    while state["count"] < expected and time.monotonic() - begun < DEADLINE_SECONDS:
        await asyncio.sleep(0.02)
        last = state["last"] or state["started"]
        if last is not None and time.monotonic() - last > IDLE_SECONDS:
            return


if __name__ == "__main__":
    logging.basicConfig(level=logging.ERROR)
    kind, bootstrap, expected = sys.argv[1], sys.argv[2], int(sys.argv[3])
    runner = {"faust": faust_counter, "aiokafka": aiokafka_ceiling}[kind]
    asyncio.run(runner(bootstrap, expected))
