"""The ingest loop: fetch a batch of the owned partitions, put it in event-time order, apply what
is safe to apply in one store transaction, then let the projections and the outbox catch up.

Partitions come and go with faust's rebalances (``streams/app.py``). A revocation waits for the
batch in flight to land; an assignment is taken up by the loop itself, before its next fetch:
it checks each partition's log against the stored position (``streams/logcheck.py``), then reads
from the stored positions, so a crash anywhere loses nothing and doubles nothing.

A broker that came back empty (the embedded one keeps its log in memory) is noticed twice over:
its cluster id changes (checked after every fetch, before anything fetched is applied) and its
logs end before the stored positions. Either way the partitions start over from offset 0 in a
new log epoch, and the event_id guard keeps re-sent facts from counting twice.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient

from engine.broker import DEFAULT_PARTITIONS
from engine.config import Settings
from engine.contract import COMMANDS_TOPIC, SOURCE_TOPICS
from engine.store.outbox import send_again
from engine.service import BatchOutcome, Incoming, Ledger
from engine.settlement import Held
from engine.streams.app import WorkerStats
from engine.streams.feed import Feed
from engine.streams.health import Health
from engine.streams.logcheck import mismatched_logs
from engine.streams.sequencer import Sequencer

log = logging.getLogger(__name__)

# What a batch pays whatever its size (a sweep, a commit, the outbox's round trips, a turn at
# the write lock) was a fifth of the worker's time at 2,000; at 10,000 the worker's CPU per
# fact fell by a third (BENCHMARKS.md, 2026-12-07 night; memory: engine/heap.py).
BATCH_SIZE = 10_000
FETCH_TIMEOUT_MS = 100
HOLD_PER_PARTITION = 20_000  # stop fetching a partition that far ahead of the others
MAX_PAUSE = 5.0
IDLE_TICK_SECONDS = 1.0  # how often an idle worker sweeps and settles referral claims
# A release cut short (records held that may not go yet, or known to be on the broker and not
# fetched yet) waits this long for more to make it a whole batch. The referral commands a
# batch sends hold back the records after them until they are fetched; applied alone, the few
# released meanwhile sent a few commands more, and between two batches of 10,000 came four or
# five of 1-100 records, each paying a transaction, a turn at the write lock and an outbox
# round (BENCHMARKS.md, 2026-12-08).
GATHER_SECONDS = 0.25
READ_TOPICS = (*SOURCE_TOPICS, COMMANDS_TOPIC)
_RANK = {topic: i for i, topic in enumerate(READ_TOPICS)}


def topic_rank(topic: str) -> int:
    """Which topic goes first when two records carry the same instant."""
    return _RANK.get(topic, len(_RANK))


def partition_keys(partitions: set[int]) -> set[str]:
    """The source and commands partitions that go with the owned membership partitions."""
    return {f"{topic}#{p}" for topic in READ_TOPICS for p in partitions
            if p < DEFAULT_PARTITIONS}


class Ingest:
    def __init__(self, settings: Settings, ledger: Ledger, stats: WorkerStats, health: Health,
                 after_batch: Callable[[], Awaitable[None]]) -> None:
        self.settings = settings
        self.ledger = ledger
        self.stats = stats
        self.health = health
        self.after_batch = after_batch
        self.feed = Feed(settings.broker)
        self.sequencer = Sequencer(topic_rank, settings.max_idle)
        self.lock = asyncio.Lock()
        self.pending: set[int] | None = None
        # released by the sequencer, not applied yet: the start of the next batch, gathering
        self.gathered: list[Incoming] = []
        self._gathering_since: float | None = None
        self.cluster_id: str | None = None
        self._ticked = 0.0  # monotonic time of the last idle tick
        self._admin = AIOKafkaAdminClient(bootstrap_servers=settings.broker)

    async def start(self) -> None:
        await self.feed.start()
        await self._admin.start()

    async def stop(self) -> None:
        await self.feed.stop()
        await self._admin.close()

    # -- partitions moving (called from faust's rebalance signals) -----------------------------

    async def on_assigned(self, partitions: set[int]) -> None:
        self.pending = set(partitions)  # taken up by the loop before its next fetch

    async def on_revoked(self, partitions: set[int]) -> None:
        async with self.lock:  # the batch in flight lands first
            self.pending = None
            self.feed.assign({})
            self.sequencer.forget(list(self.sequencer.queues))
            self._drop_gathered()
            self.ledger.owned = frozenset()

    async def _take_assignment(self, partitions: set[int]) -> None:
        keys = partition_keys(partitions)
        self.cluster_id = await self._cluster_id()
        stored = await asyncio.to_thread(self.ledger.store.position_digests)
        resets = await mismatched_logs(self.settings.broker, stored, keys)
        if resets:
            await asyncio.to_thread(self.ledger.reset_positions, resets)
            self.stats.resets += len(resets)
        # Another worker may have written these members: forget cached ones, re-read positions.
        await asyncio.to_thread(self.ledger.reload)
        self.ledger.owned = frozenset(p for p in partitions if p < DEFAULT_PARTITIONS)
        held = await asyncio.to_thread(self.ledger.hold_pending, partitions)
        self.feed.assign({key: self.ledger.positions.get(key, 0) for key in keys})
        self.sequencer.forget(list(self.sequencer.queues))
        self._drop_gathered()
        self.sequencer.track(keys)
        log.info("reading %d partitions of %d topics; %d members with pending points held",
                 len(partitions), len(READ_TOPICS), held)

    # -- the loop ---------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                released = await self.turn()
            except Exception as exc:  # the broker is away: wait, then read again
                log.warning("ingest turn failed (%s: %s); retrying", type(exc).__name__, exc)
                self.health.mark("broker", False, type(exc).__name__)
                await asyncio.sleep(1.0)
                continue
            if not released:
                released = await self.idle_tick()
            if released:
                try:
                    await self.after_batch()
                except Exception as exc:  # the outbox and projections catch up next turn
                    log.warning("after-batch work failed (%s); will retry", exc)
            elif not self.feed.keys:
                await asyncio.sleep(0.05)

    async def turn(self) -> int:
        """One fetch and whatever it makes safe to apply; returns how many records were."""
        async with self.lock:
            if self.pending is not None:
                partitions, self.pending = self.pending, None
                await self._take_assignment(partitions)
            if not self.feed.keys:
                return 0
            records, polled = await self.feed.fetch(FETCH_TIMEOUT_MS)
            if records and not await self._same_broker(records):
                return 0
            resets = self.feed.log_ends_before()
            if resets:
                await self._start_over(resets)
                return 0
            self.sequencer.add(records, polled)
            self._flow()
            released = self.gathered + self.sequencer.release(
                self.feed.caught_up, BATCH_SIZE - len(self.gathered))
            self.gathered = []
            if not released:
                return 0
            if len(released) < BATCH_SIZE and self._gather():
                self.gathered = released
                return 0
            self._gathering_since = None
            held = self.sequencer.held_back()
            started = time.perf_counter()
            outcome = await handle_until_stored(self.ledger, released, self.health, held)
            self.stats.add(len(released), outcome, time.perf_counter() - started)
            self.stats.lag = self.lag()
            self.stats.members_in_memory = len(self.ledger.members)
            self.stats.members_let_go = self.ledger.residency.let_go
            return len(released)

    def lag(self) -> int | None:
        """Records between the stored positions and the log ends last polled, over the owned
        partitions (the worker commits no offsets to Kafka, so lag tools cannot tell); None
        before any is polled."""
        ends = {key: self.feed.log_end(key) for key in self.feed.keys}
        known = {key: end for key, end in ends.items() if end is not None}
        if not known:
            return None
        positions = self.ledger.positions
        return sum(max(0, end - positions.get(key, 0)) for key, end in known.items())

    async def idle_tick(self) -> int:
        """Nothing to apply: at most every ``IDLE_TICK_SECONDS``, let the ledger sweep to the
        engine time reached and decide the referral claims other workers' sweeps now allow.
        Returns 1 when that wrote something (commands to send), else 0."""
        now = time.monotonic()
        if now - self._ticked < IDLE_TICK_SECONDS or self.gathered:
            return 0  # (records gathered are held by no one the ledger's sweep could ask)
        self._ticked = now
        async with self.lock:
            if not self.feed.keys:
                return 0
            self.stats.lag = self.lag()
            caught_up = not len(self.sequencer) and all(
                self.feed.caught_up(key, 0) for key in self.feed.keys)
            try:
                return int(await asyncio.to_thread(self.ledger.tick, self.sequencer.held_back(),
                                                   caught_up))
            except Exception as exc:  # the store is away: the next tick tries again
                log.warning("idle tick failed (%s: %s)", type(exc).__name__, exc)
                return 0

    def _flow(self) -> None:
        """Stop fetching partitions far ahead of the others; fetch them again once drained."""
        ahead = {key for key, q in self.sequencer.queues.items() if len(q) >= HOLD_PER_PARTITION}
        self.feed.pause(ahead)
        self.feed.resume(self.feed.paused - ahead)

    async def _same_broker(self, records: list[Incoming]) -> bool:
        """Were these records fetched from the broker the partitions were assigned on? When it
        cannot be told (the broker is away) or it is another one, nothing fetched is applied."""
        try:
            current = await self._cluster_id()
        except Exception:
            current = None
        if current is not None and current == self.cluster_id:
            return True
        first: dict[str, int] = {}
        for record in records:
            first.setdefault(record.position_key, record.offset)
        for key, offset in first.items():
            self.feed.seek(key, offset)  # read them again once the broker is known
        if current is None:
            await asyncio.sleep(0.5)
            return False
        log.warning("the broker's cluster id changed (%s -> %s): its logs are new",
                    self.cluster_id, current)
        self.cluster_id = current
        positions = self.ledger.positions
        # Every commands partition starts over even if nothing was read from it yet: the
        # commands sent into the lost log are sent again.
        await self._start_over({key: (0, f"the broker came back as a new cluster ({current})")
                                for key in self.feed.keys if positions.get(key, 0) > 0
                                or key.startswith(f"{COMMANDS_TOPIC}#")})
        again = await asyncio.to_thread(send_again, self.ledger.store)
        log.warning("%d dead letters and member events sent again to the new cluster", again)
        for key in self.feed.keys:
            self.feed.seek(key, 0)
        self.sequencer.forget(list(self.sequencer.queues))
        self.sequencer.track(self.feed.keys)
        self._drop_gathered()
        return False

    async def _start_over(self, resets: dict[str, tuple[int, str]]) -> None:
        if resets:
            await asyncio.to_thread(self.ledger.reset_positions, resets)
            self.stats.resets += len(resets)
        for key in resets:
            self.feed.seek(key, 0)
            self.sequencer.forget([key])
            self.sequencer.track([key])
        self._drop_gathered(set(resets))

    def _gather(self) -> bool:
        """Should a short release wait for more? While the sequencer holds records it may
        not release yet, or records known to be on the broker are not fetched yet, for up to
        GATHER_SECONDS since it first fell short."""
        now = time.monotonic()
        if self._gathering_since is None:
            self._gathering_since = now
        return now - self._gathering_since < GATHER_SECONDS and bool(
            len(self.sequencer) or self.feed.behind())

    def _drop_gathered(self, keys: set[str] | None = None) -> None:
        """Forget the records gathered from these partitions (all: None), which the feed reads
        again."""
        self.gathered = [m for m in self.gathered
                         if keys is not None and m.position_key not in keys]
        if not self.gathered:
            self._gathering_since = None

    async def _cluster_id(self) -> str | None:
        cluster: Any = await asyncio.wait_for(self._admin.describe_cluster(), 5.0)
        return cluster.get("cluster_id")


async def handle_until_stored(ledger: Ledger, messages: list[Incoming], health: Health,
                              held: Held | None = None
                              ) -> BatchOutcome:
    """Apply the batch, waiting out a store outage (with backoff) rather than dropping it."""
    attempt = 0
    while True:
        try:
            outcome = await asyncio.to_thread(ledger.handle, messages, held)
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
