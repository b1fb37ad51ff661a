"""The faust app of the worker. The agent decodes nothing itself: it hands each batch of raw
records to the Ledger (service layer), sends the outbox, then lets faust acknowledge."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import faust

from engine.config import Settings
from engine.contract import COMMANDS_TOPIC, SOURCE_TOPICS
from engine.service import BatchOutcome, Incoming, Ledger

log = logging.getLogger(__name__)

BATCH_SIZE = 2000
BATCH_WITHIN = 0.05


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


def create_app(
    settings: Settings,
    ledger: Ledger,
    on_batch: Callable[[], Any],
    stats: WorkerStats,
) -> faust.App:
    """Build the faust app: one agent over every source topic and the commands topic."""
    app = faust.App(
        settings.group_id,
        broker=f"kafka://{settings.broker}",
        store="memory://",
        web_enabled=False,
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

    @app.on_partitions_assigned.connect
    async def _assigned(_app: Any, assigned: Any, **_: Any) -> None:
        stats.assigned_at = time.monotonic()
        # A rebalance may hand this worker partitions another worker wrote to: forget cached
        # members and re-read positions from the store, the source of truth.
        ledger.request_reload()

    @app.agent(topics, name="ingest")
    async def ingest(stream: faust.StreamT) -> None:
        async for events in stream.take_events(BATCH_SIZE, within=BATCH_WITHIN):
            messages = [
                Incoming(e.message.topic, e.message.partition, e.message.offset, e.message.value)
                for e in events
            ]
            started = time.perf_counter()
            outcome = await asyncio.to_thread(ledger.handle, messages)
            await on_batch()
            stats.add(len(messages), outcome, time.perf_counter() - started)

    return app
