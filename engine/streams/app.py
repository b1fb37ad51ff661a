"""The faust app of the worker: it holds this worker's place in the consumer group.

faust runs the group membership (join, heartbeats, rebalances, the assignor) over one topic,
``loyalty.workers``, that carries no records: owning its partition N means owning partition N of
every source topic and of the commands topic (they are all keyed by customer, with the same
partition count, so a member's records share one partition number). The records themselves are
read in batches by ``streams/feed.py`` and applied by ``streams/loop.py``; see
``docs/decisions/0006-batches-from-aiokafka.md`` for why faust's per-event stream is not used.

The app also serves /healthz when asked for a port.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import faust

from engine.config import Settings
from engine.service import BatchOutcome
from engine.streams.health import Health

log = logging.getLogger(__name__)


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
    lag: int | None = None  # records not applied yet up to the log ends last polled
    members_in_memory: int = 0
    members_let_go: int = 0  # since the start, past LOYALTY_MEMBERS_IN_MEMORY (residency.py)
    projector_restarts: int = 0  # the projector process found dead and started again

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
    """What the worker does when faust moves partitions (see streams/worker.py)."""

    on_assigned: Callable[[set[int]], Awaitable[None]]
    on_revoked: Callable[[set[int]], Awaitable[None]]


MEMBERSHIP_TOPIC = "loyalty.workers"


def create_app(settings: Settings, hooks: Hooks, stats: WorkerStats, health: Health,
               health_port: int | None = None) -> faust.App:
    """Build the faust app: group membership over ``loyalty.workers`` and the health page."""
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
        # The embedded broker completes a join only after the rebalance timeout; keep it short
        # so a worker starts in seconds. Session/heartbeat as Kafka clients expect.
        broker_rebalance_timeout=settings.rebalance_timeout,
        broker_session_timeout=max(settings.rebalance_timeout, 6.0),
        broker_heartbeat_interval=1.0,
    )
    membership = app.topic(MEMBERSHIP_TOPIC, value_serializer="raw", key_serializer="raw")

    @app.agent(membership, name="membership")
    async def _membership(stream: faust.StreamT) -> None:
        async for _ in stream:  # nothing is ever published there
            pass

    @app.on_partitions_revoked.connect
    async def _revoked(_app: Any, revoked: Any, **_: Any) -> None:
        # Awaited by faust before the group moves on: the batch in flight lands first.
        await hooks.on_revoked({tp.partition for tp in revoked if tp.topic == MEMBERSHIP_TOPIC})

    @app.on_partitions_assigned.connect
    async def _assigned(_app: Any, assigned: Any, **_: Any) -> None:
        stats.assigned_at = time.monotonic()
        await hooks.on_assigned({tp.partition for tp in assigned
                                 if tp.topic == MEMBERSHIP_TOPIC})

    @app.page("/healthz")
    async def healthz(web: Any, request: Any) -> Any:
        return web.json(health.report(stats), status=200 if health.ok else 503)

    return app
