"""Running the worker: topics, store, ledger, projections, outbox, faust app; until stopped or,
with ``until_idle``, until nothing new has arrived for that long.

Outages do not stop it: a broker outage leaves the consumer retrying (aiokafka reconnects), a
store outage makes the agent retry its batch with backoff; /healthz says which part is down.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from aiokafka import AIOKafkaProducer

from engine.broker import DEFAULT_PARTITIONS, ensure_topics
from engine.config import Settings
from engine.contract import COMMANDS_TOPIC, DEAD_LETTER_TOPIC, SOURCE_TOPICS
from engine.errors import BrokerUnavailable
from engine.projections.member_events import TOPIC as MEMBER_EVENTS_TOPIC
from engine.projections.registry import catch_up_all
from engine.service import Ledger
from engine.signing import Verifier
from engine.store import LoyaltyStore, open_store
from engine.store.outbox import any_unsent, mark_sent, pending
from engine.streams.app import MEMBERSHIP_TOPIC, Hooks, WorkerStats, create_app
from engine.streams.feed import key_of
from engine.streams.health import Health
from engine.streams.loop import Ingest
from engine.streams.projector import Projector

log = logging.getLogger(__name__)

ASSIGNMENT_TIMEOUT = 90.0
CHECK_EVERY = 2.0


def all_topics() -> dict[str, int]:
    topics = {topic: DEFAULT_PARTITIONS for topic in SOURCE_TOPICS}
    topics[COMMANDS_TOPIC] = DEFAULT_PARTITIONS
    topics[DEAD_LETTER_TOPIC] = 1
    topics[MEMBER_EVENTS_TOPIC] = DEFAULT_PARTITIONS
    topics[MEMBERSHIP_TOPIC] = DEFAULT_PARTITIONS
    return topics


async def flush_outbox(store: LoyaltyStore, producer: AIOKafkaProducer,
                       on_sent: Callable[[str, int], None] | None = None) -> int:
    """Send what committed batches left in the outbox; mark it sent once Kafka has it.
    ``on_sent(partition key, offset)`` hears where each record landed.

    The workers over one PostgreSQL database take turns (``SqlSession.take_send_turn``): each
    would otherwise read the same unsent messages, send them all and mark them twice. One that
    finds another sending leaves the messages to it, but for the referral commands: those it
    sends itself, so that its feed hears where they landed and its sequencer waits for those
    bound for its own partitions (``Feed.note_sent``), as with one worker. The sender reads on
    until nothing is unsent, and looks once more after letting go, for what was committed by
    a worker that found it sending just before."""
    sent = 0
    while True:
        if not await asyncio.to_thread(store.sql.take_send_turn):
            return sent + await _send_unsent(store, producer, on_sent, COMMANDS_TOPIC)
        try:
            sent += await _send_unsent(store, producer, on_sent)
        finally:
            await asyncio.to_thread(store.sql.end_send_turn)
        if not await asyncio.to_thread(any_unsent, store):
            return sent


async def _send_unsent(store: LoyaltyStore, producer: AIOKafkaProducer,
                       on_sent: Callable[[str, int], None] | None,
                       topic: str | None = None) -> int:
    sent = 0
    while True:
        messages = await asyncio.to_thread(pending, store, topic=topic)
        if not messages:
            return sent
        futures = [
            await producer.send(m.topic, m.value, key=m.key, headers=m.headers) for m in messages
        ]
        landed = await asyncio.gather(*futures)
        if on_sent is not None:
            for meta in landed:
                on_sent(key_of(meta.topic_partition), meta.offset)
        await asyncio.to_thread(mark_sent, store, [m.id for m in messages])
        sent += len(messages)


async def check_parts(settings: Settings, store: LoyaltyStore, health: Health) -> None:
    """Probe the broker and the store for /healthz."""
    try:
        await asyncio.wait_for(ensure_topics(settings.broker, all_topics()), CHECK_EVERY * 2)
        health.mark("broker", True)
    except Exception as exc:
        health.mark("broker", False, type(exc).__name__)
    try:
        await asyncio.wait_for(asyncio.to_thread(store.sql.query, "SELECT 1 AS one"),
                               CHECK_EVERY * 2)
        health.mark("store", True)
    except Exception as exc:
        health.mark("store", False, type(exc).__name__)


async def _last_fold(projector: Projector, store: LoyaltyStore,
                     producer: AIOKafkaProducer) -> None:
    """At stop: the projector's last catch-up, then the member events it added, sent."""
    code = await asyncio.to_thread(projector.stop)
    if code not in (0, None):
        log.warning("the projector's last catch-up failed (code %s); the next start folds the "
                    "rest", code)
    try:
        await flush_outbox(store, producer)
    except Exception as exc:  # the broker is away: the next start sends them
        log.warning("could not send the outbox at stop (%s); the next start sends it", exc)


async def run_worker(
    settings: Settings,
    *,
    until_idle: float | None = None,
    stop: asyncio.Event | None = None,
    stats: WorkerStats | None = None,
    health_port: int | None = None,
) -> WorkerStats:
    """Consume every topic until ``stop`` is set or the stream has been idle ``until_idle`` s."""
    stats = stats or WorkerStats()
    stop = stop or asyncio.Event()
    health = Health()
    try:
        await ensure_topics(settings.broker, all_topics())
    except Exception as exc:
        raise BrokerUnavailable(f"cannot reach the broker at {settings.broker}: {exc}") from exc
    store = await asyncio.to_thread(open_store, settings)
    # The log's copies into the database file run beside the batches, not inside their commits.
    store.checkpoint_in_background()
    verifier = (Verifier(settings.signing_secrets, settings.signing_tolerance)
                if settings.signing_secrets else None)
    ledger = Ledger(store, verifier, members_in_memory=settings.members_in_memory)
    producer = AIOKafkaProducer(bootstrap_servers=settings.broker, acks="all", linger_ms=5)
    await producer.start()

    # The read models are folded by a child process when there is a core for it (decision
    # 0010); it starts after the first catch-up below, so that the partitions' assignment reads
    # up-to-date balances.
    projector = Projector(settings) if settings.projector_process else None

    # The ingest loop and the health loop both run after_batch, and the store's SQL session is
    # one connection: one at a time.
    after_batch_lock = asyncio.Lock()
    ingest: Ingest | None = None

    async def after_batch() -> None:
        async with after_batch_lock:
            try:
                if projector is not None and projector.alive:
                    projector.wake()  # its member events go out with a later flush
                else:
                    # Projections first: the member events they add go out with this batch.
                    await asyncio.to_thread(catch_up_all, store)
            finally:
                # A failing projection must not hold back referral commands and dead letters.
                await flush_outbox(store, producer,
                                   ingest.feed.note_sent if ingest is not None else None)

    ingest = Ingest(settings, ledger, stats, health, after_batch)
    app = create_app(settings, Hooks(ingest.on_assigned, ingest.on_revoked), stats, health,
                     health_port)
    loop_task: asyncio.Task[None] | None = None
    loop_stop = asyncio.Event()
    try:
        await after_batch()  # whatever a previous run committed but did not send or project
        if projector is not None:
            projector.start()
        await ingest.start()
        loop_task = asyncio.create_task(ingest.run(loop_stop))
        await app.start()
        last_check = 0.0
        while not stop.is_set():
            await asyncio.sleep(0.1)
            if loop_task.done():
                loop_task.result()  # it only ends by raising: let the error out
            now = time.monotonic()
            if now - last_check >= CHECK_EVERY:
                last_check = now
                await check_parts(settings, store, health)
                if projector is not None and projector.keep_alive():
                    stats.projector_restarts = projector.restarts
                if health.ok:
                    try:
                        await after_batch()
                    except Exception as exc:
                        log.warning("outbox/projection catch-up failed (%s); will retry", exc)
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
        loop_stop.set()
        try:
            if loop_task is not None:
                await asyncio.wait_for(loop_task, 30)
            await app.stop()
            await ingest.stop()
        finally:
            if projector is not None:
                await _last_fold(projector, store, producer)
            await producer.stop()
            await asyncio.to_thread(store.close)
    return stats
