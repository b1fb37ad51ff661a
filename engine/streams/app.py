"""The faust app of the worker. The agent decodes nothing itself: it hands each batch of raw
records to the Ledger (service layer), sends the outbox, then lets faust acknowledge.

Nothing escapes the agent: a store outage makes it wait and retry the same batch (faust does
not acknowledge it meanwhile), bad input is dead-lettered by the Ledger.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import faust

from engine.config import Settings
from engine.contract import COMMANDS_TOPIC, SOURCE_TOPICS
from engine.service import BatchOutcome, Incoming, Ledger
from engine.streams.health import Health

log = logging.getLogger(__name__)

BATCH_SIZE = 2000
BATCH_WITHIN = 0.05
MAX_PAUSE = 5.0


@dataclass
class WorkerStats:
    """What the worker has done since it started; read by the CLI and health checks."""

    started: float = field(default_factory=time.monotonic)
    assigned_at: float | None = None
    last_message_at: float | None = None
    messages: int = 0
    applied: int = 0
    skipped: int = 0
    dead_lettered: int = 0
    commands: int = 0
    busy_seconds: float = 0.0
    first_message_at: float | None = None
    resets: int = 0

    def add(self, n: int, outcome: BatchOutcome, seconds: float) -> None:
        now = time.monotonic()
        self.first_message_at = self.first_message_at or now
        self.last_message_at = now
        self.messages += n
        self.applied += outcome.applied
        self.skipped += outcome.skipped
        self.dead_lettered += outcome.dead_lettered
        self.commands += outcome.commands
        self.busy_seconds += seconds


@dataclass
class Hooks:
    """What the worker does around each batch and on assignment (see streams/worker.py)."""

    after_batch: Callable[[], Awaitable[None]]
    on_assigned: Callable[[set[str]], Awaitable[None]]


def create_app(
    settings: Settings,
    ledger: Ledger,
    hooks: Hooks,
    stats: WorkerStats,
    health: Health,
    health_port: int | None = None,
) -> faust.App:
    """Build the faust app: one agent over every source topic and the commands topic."""
    app = faust.App(
        settings.group_id,
        broker=f"kafka://{settings.broker}",
        store="memory://",
        web_enabled=health_port is not None,
        web_port=health_port or 6066,
        web_bind="127.0.0.1",
        web_host="127.0.0.1",
        topic_allow_declare=False,
        topic_disable_leader=True,
        consumer_auto_offset_reset="earliest",
        producer_acks=-1,
        # The embedded broker completes a join only after the rebalance timeout; keep it short
        # so a worker starts in seconds. Session/heartbeat as Kafka clients expect.
        broker_rebalance_timeout=settings.rebalance_timeout,
        broker_session_timeout=max(settings.rebalance_timeout, 6.0),
        broker_heartbeat_interval=1.0,
        broker_commit_every=BATCH_SIZE,
        broker_commit_interval=1.0,
        stream_buffer_maxsize=BATCH_SIZE * 2,
    )
    topics = app.topic(
        *SOURCE_TOPICS, COMMANDS_TOPIC, value_serializer="raw", key_serializer="raw"
    )
    gate = asyncio.Event()  # closed while a new assignment's logs are being checked
    gate.set()

    @app.on_partitions_assigned.connect
    async def _assigned(_app: Any, assigned: Any, **_: Any) -> None:
        stats.assigned_at = time.monotonic()
        gate.clear()
        # A rebalance may hand this worker partitions another worker wrote to: forget cached
        # members and re-read positions from the store, the source of truth.
        ledger.request_reload()
        keys = {f"{tp.topic}#{tp.partition}" for tp in assigned}

        async def check() -> None:
            try:
                await hooks.on_assigned(keys)
            except Exception:
                log.exception("checking the assigned partitions' logs failed")
            finally:
                gate.set()

        asyncio.ensure_future(check())

    @app.agent(topics, name="ingest")
    async def ingest(stream: faust.StreamT) -> None:
        async for events in stream.take_events(BATCH_SIZE, within=BATCH_WITHIN):
            await gate.wait()
            messages = [
                Incoming(
                    e.message.topic, e.message.partition, e.message.offset,
                    # a tombstone (no value) is a message like any other: refused, not fatal
                    e.message.value if e.message.value is not None else b"",
                    tuple((k, v) for k, v in (e.message.headers or ())),
                    e.message.timestamp and int(e.message.timestamp * 1000),
                )
                for e in events
            ]
            started = time.perf_counter()
            outcome = await handle_until_stored(ledger, messages, health)
            stats.add(len(messages), outcome, time.perf_counter() - started)
            try:
                await hooks.after_batch()
            except Exception as exc:  # the outbox and projections catch up on the next turn
                log.warning("after-batch work failed (%s); will retry", exc)

    @app.page("/healthz")
    async def healthz(web: Any, request: Any) -> Any:
        return web.json(health.report(stats), status=200 if health.ok else 503)

    return app


async def handle_until_stored(ledger: Ledger, messages: list[Incoming], health: Health) -> Any:
    """Apply the batch, waiting out a store outage (with backoff) rather than dropping it."""
    attempt = 0
    while True:
        try:
            outcome = await asyncio.to_thread(ledger.handle, messages)
        except Exception as exc:
            health.mark("store", False, type(exc).__name__)
            pause = min(MAX_PAUSE, 0.2 * 2**attempt)
            log.warning("store write failed (%s: %s); retrying in %.1fs", type(exc).__name__,
                        exc, pause)
            attempt += 1
            await asyncio.sleep(pause)
            continue
        health.mark("store", True)
        return outcome
