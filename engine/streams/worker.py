"""Running the worker: topics, store, ledger, projection, outbox, faust app; until stopped or,
with ``until_idle``, until nothing new has arrived for that long."""

from __future__ import annotations

import asyncio
import logging
import time

from aiokafka import AIOKafkaProducer

from engine.broker import DEFAULT_PARTITIONS, ensure_topics
from engine.config import Settings
from engine.contract import COMMANDS_TOPIC, DEAD_LETTER_TOPIC, SOURCE_TOPICS
from engine.errors import BrokerUnavailable
from engine.projections.registry import catch_up_all
from engine.service import Ledger
from engine.store import LoyaltyStore, open_store
from engine.store.outbox import mark_sent, pending
from engine.streams.app import WorkerStats, create_app

log = logging.getLogger(__name__)

ASSIGNMENT_TIMEOUT = 90.0


def all_topics() -> dict[str, int]:
    topics = {topic: DEFAULT_PARTITIONS for topic in SOURCE_TOPICS}
    topics[COMMANDS_TOPIC] = DEFAULT_PARTITIONS
    topics[DEAD_LETTER_TOPIC] = 1
    return topics


async def flush_outbox(store: LoyaltyStore, producer: AIOKafkaProducer) -> int:
    """Send what committed batches left in the outbox; mark it sent once Kafka has it."""
    sent = 0
    while True:
        messages = await asyncio.to_thread(pending, store)
        if not messages:
            return sent
        futures = [
            await producer.send(m.topic, m.value, key=m.key, headers=m.headers) for m in messages
        ]
        await asyncio.gather(*futures)
        await asyncio.to_thread(mark_sent, store, [m.id for m in messages])
        sent += len(messages)


async def run_worker(
    settings: Settings,
    *,
    until_idle: float | None = None,
    stop: asyncio.Event | None = None,
    stats: WorkerStats | None = None,
) -> WorkerStats:
    """Consume every topic until ``stop`` is set or the stream has been idle ``until_idle`` s."""
    stats = stats or WorkerStats()
    stop = stop or asyncio.Event()
    try:
        await ensure_topics(settings.broker, all_topics())
    except Exception as exc:
        raise BrokerUnavailable(f"cannot reach the broker at {settings.broker}: {exc}") from exc
    store = await asyncio.to_thread(open_store, settings)
    ledger = Ledger(store)
    producer = AIOKafkaProducer(bootstrap_servers=settings.broker, acks="all", linger_ms=5)
    await producer.start()

    async def after_batch() -> None:
        await flush_outbox(store, producer)
        await asyncio.to_thread(catch_up_all, store)

    app = create_app(settings, ledger, after_batch, stats)
    try:
        await after_batch()  # whatever a previous run committed but did not send or project
        await app.start()
        while not stop.is_set():
            await asyncio.sleep(0.1)
            now = time.monotonic()
            if stats.assigned_at is None:
                if now - stats.started > ASSIGNMENT_TIMEOUT:
                    raise BrokerUnavailable(
                        f"no partitions assigned after {ASSIGNMENT_TIMEOUT:.0f}s "
                        f"from the broker at {settings.broker}"
                    )
                continue
            if until_idle is not None:
                last = max(stats.assigned_at, stats.last_message_at or 0.0)
                if now - last >= until_idle:
                    log.info("idle for %.1fs, stopping", until_idle)
                    break
    finally:
        await app.stop()
        await producer.stop()
        await asyncio.to_thread(store.close)
    return stats
