"""The storefront and operator side of Kafka for the fault suite: send records (with headers),
read end offsets, the dead-letter topic and a consumer group's members. Every call is bounded
by a timeout."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.structs import TopicPartition

from engine.broker import DEFAULT_PARTITIONS, ensure_topics
from engine.contract import COMMANDS_TOPIC, DEAD_LETTER_TOPIC, SOURCE_TOPICS

CONSUMED_TOPICS: tuple[str, ...] = (*SOURCE_TOPICS, COMMANDS_TOPIC)
MAX_RECORD_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Record:
    """One Kafka record as a storefront (or a misbehaving one) sends it."""

    topic: str
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...] = field(default=())


def all_topics() -> dict[str, int]:
    topics = {topic: DEFAULT_PARTITIONS for topic in CONSUMED_TOPICS}
    topics[DEAD_LETTER_TOPIC] = 1
    return topics


def run(coro: object, timeout: float) -> object:
    async def bounded() -> object:
        return await asyncio.wait_for(coro, timeout)  # type: ignore[arg-type]

    return asyncio.run(bounded())


async def _send(bootstrap: str, records: Sequence[Record]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5,
                                max_request_size=MAX_RECORD_BYTES, request_timeout_ms=20000)
    await producer.start()
    try:
        futures = [
            await producer.send(r.topic, r.value, key=r.key, headers=list(r.headers) or None)
            for r in records
        ]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


def send(bootstrap: str, records: Sequence[Record], timeout: float = 120.0) -> None:
    """Send the records in order and wait until the broker has acknowledged every one."""
    if records:
        run(_send(bootstrap, records), timeout)


def create_topics(bootstrap: str, timeout: float = 30.0) -> None:
    """The topics an operator creates (again, after the embedded broker lost them)."""
    run(ensure_topics(bootstrap, all_topics()), timeout)


async def _end_offsets(bootstrap: str) -> dict[str, int]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, request_timeout_ms=5000,
                                enable_auto_commit=False,
                                max_partition_fetch_bytes=MAX_RECORD_BYTES)
    await consumer.start()
    try:
        tps = [TopicPartition(t, p) for t in CONSUMED_TOPICS for p in range(DEFAULT_PARTITIONS)]
        listed = await consumer.end_offsets(tps)
        ends = {tp: int(offset) for tp, offset in listed.items()}
        # The embedded broker (Tansu 0.6) answers ListOffsets(latest) with the base offset of
        # the last record batch + 1, not the offset after its last record: read that batch.
        consumer.assign([tp for tp, end in ends.items() if end > 0])
        for tp, end in ends.items():
            if end > 0:
                consumer.seek(tp, end - 1)
        while True:
            fetched = await consumer.getmany(timeout_ms=300)
            if not fetched:
                break
            for tp, messages in fetched.items():
                ends[tp] = max(ends[tp], messages[-1].offset + 1)
    finally:
        await consumer.stop()
    return {f"{tp.topic}#{tp.partition}": offset for tp, offset in ends.items()}


def end_offsets(bootstrap: str, timeout: float = 15.0) -> dict[str, int] | None:
    """The log end of every consumed partition ("topic#partition" -> the offset after its last
    record), or None when the broker does not answer."""
    try:
        return run(_end_offsets(bootstrap), timeout)  # type: ignore[return-value]
    except Exception:  # noqa: BLE001  (down or restarting: the caller polls again)
        return None


async def _dead_letter_topic(bootstrap: str, expected: int, idle: float) -> list[dict[str, str]]:
    consumer = AIOKafkaConsumer(DEAD_LETTER_TOPIC, bootstrap_servers=bootstrap,
                                auto_offset_reset="earliest", enable_auto_commit=False,
                                fetch_max_bytes=MAX_RECORD_BYTES * 4,
                                max_partition_fetch_bytes=MAX_RECORD_BYTES)
    await consumer.start()
    found: list[dict[str, str]] = []
    try:
        while len(found) < expected:
            batch = await consumer.getmany(timeout_ms=int(idle * 1000))
            if not batch:
                break
            for messages in batch.values():
                for message in messages:
                    headers = {k: v.decode("utf-8", "replace") for k, v in message.headers}
                    found.append(headers)
    finally:
        await consumer.stop()
    return found


def dead_letter_topic(bootstrap: str, expected: int, timeout: float = 60.0) -> list[dict[str, str]]:
    """The headers of the records on the dead-letter topic (reads until ``expected`` or idle)."""
    return run(_dead_letter_topic(bootstrap, expected, 3.0), timeout)  # type: ignore[return-value]


async def _group_members(bootstrap: str, group: str) -> int:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=5000)
    await admin.start()
    try:
        described = await admin.describe_consumer_groups([group])
    finally:
        await admin.close()
    groups = described[0].groups if described else []
    return len(groups[0][5]) if groups else 0


def group_members(bootstrap: str, group: str, timeout: float = 10.0) -> int:
    """How many consumers are members of the group now (0 when the broker does not answer)."""
    try:
        return run(_group_members(bootstrap, group), timeout)  # type: ignore[return-value]
    except Exception:  # noqa: BLE001  (down or restarting: the caller polls again)
        return 0
