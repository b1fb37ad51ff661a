"""The records of the partitions this worker owns, read in batches straight from aiokafka.

faust decides which partitions a worker owns (its consumer group, see ``streams/app.py``); this
consumer, assigned those partitions by hand, reads them from the positions the store holds (the
store, not Kafka's committed offsets, is the source of truth) and says, per partition, how far
the log goes. It commits nothing to Kafka. Why faust's per-event stream is not in this path:
``docs/decisions/0006-batches-from-aiokafka.md``.

It also notices a log that no longer holds what was applied from it (a broker that came back
empty, a recreated topic): the embedded broker answers a fetch past the end of its log with
nothing rather than an error, but its fetch responses carry the true log end (high watermark),
so a stored position beyond a freshly polled log end means the partition started over.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable

from aiokafka import AIOKafkaConsumer, TopicPartition

from engine.service import Incoming, read_value

log = logging.getLogger(__name__)

FETCH_MAX_WAIT_MS = 50
MAX_PARTITION_FETCH_BYTES = 4 * 1024 * 1024
# While waiting for records, how often to look whether a fetch response came back empty: an
# empty response wakes no ``getmany`` but is news to the sequencer (a partition read to its end
# by a newer poll lets the records held behind it go).
POLL_LOOK_MS = 5


def tp_of(key: str) -> TopicPartition:
    topic, _, partition = key.rpartition("#")
    return TopicPartition(topic, int(partition))


def key_of(tp: TopicPartition) -> str:
    return f"{tp.topic}#{tp.partition}"


class Feed:
    def __init__(self, bootstrap: str) -> None:
        self.consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False,
            auto_offset_reset="none", fetch_max_wait_ms=FETCH_MAX_WAIT_MS,
            max_partition_fetch_bytes=MAX_PARTITION_FETCH_BYTES,
        )
        self.next: dict[str, int] = {}  # the next offset to hand over, per partition
        self.produced: dict[str, int] = {}  # log ends known from our own sends
        self.paused: set[str] = set()
        self.seen_poll = 0  # the newest poll stamp of any partition when ``fetch`` last returned

    async def start(self) -> None:
        await self.consumer.start()

    async def stop(self) -> None:
        await self.consumer.stop()

    @property
    def keys(self) -> set[str]:
        return set(self.next)

    def assign(self, positions: dict[str, int]) -> None:
        """Read exactly these partitions, each from the given offset."""
        self.next = dict(positions)
        self.paused.clear()
        tps = [tp_of(key) for key in positions]
        self.consumer.assign(tps)
        for key, offset in positions.items():
            self.consumer.seek(tp_of(key), offset)

    def seek(self, key: str, offset: int) -> None:
        if key in self.next:
            self.next[key] = offset
            self.consumer.seek(tp_of(key), offset)

    def pause(self, keys: Iterable[str]) -> None:
        for key in set(keys) - self.paused:
            self.paused.add(key)
            self.consumer.pause(tp_of(key))

    def resume(self, keys: Iterable[str]) -> None:
        for key in set(keys) & self.paused:
            self.paused.discard(key)
            self.consumer.resume(tp_of(key))

    def note_sent(self, key: str, offset: int) -> None:
        """We produced a record at ``offset`` there: the log reaches at least past it."""
        if offset + 1 > self.produced.get(key, 0):
            self.produced[key] = offset + 1

    async def fetch(self, timeout_ms: int) -> tuple[list[Incoming], int]:
        """Every record fetched since the last call (each with what it carries already read),
        and the poll stamp of the newest fetch response (ms).

        With nothing fetched yet, it waits up to ``timeout_ms`` for records or for a newer
        poll of any partition, whichever comes first. Taking every record buffered lets
        aiokafka ask for the next ones at once: it sends no fetch while records of a partition
        wait for less than its ``prefetch_backoff``."""
        if not self.next:
            return [], 0
        deadline = time.monotonic() + timeout_ms / 1000
        batches = await self.consumer.getmany(timeout_ms=0)
        while not batches and self._newest_poll() <= self.seen_poll:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            batches = await self.consumer.getmany(
                timeout_ms=max(1, min(POLL_LOOK_MS, int(left * 1000))))
        self.seen_poll = self._newest_poll()
        out: list[Incoming] = []
        stamp = 0
        for tp, records in batches.items():
            key = key_of(tp)
            if key not in self.next or not records:
                continue
            topic, partition = tp.topic, tp.partition
            for r in records:
                value = r.value if r.value is not None else b""  # a tombstone is refused later
                out.append(Incoming(topic, partition, r.offset, value, tuple(r.headers or ()),
                                    r.timestamp, read_value(topic, value)))
            self.next[key] = records[-1].offset + 1
            stamp = max(stamp, self.consumer.last_poll_timestamp(tp) or 0)
        return out, stamp

    def _newest_poll(self) -> int:
        polls = (self.consumer.last_poll_timestamp(tp_of(key)) for key in self.next)
        return max((p for p in polls if p is not None), default=0)

    def caught_up(self, key: str, since: int) -> bool | None:
        """Has this partition been read to its end, as seen by a poll newer than ``since``?
        None when it was never polled since it was assigned (nothing is known of it)."""
        polled = self.consumer.last_poll_timestamp(tp_of(key))
        if polled is None:
            return None
        if polled <= since:
            return False
        return self._fetched_to_end(key)

    def behind(self) -> bool:
        """Is any partition read (not paused) known to hold records not fetched yet?"""
        return any(key not in self.paused and not self._fetched_to_end(key) for key in self.next)

    def _fetched_to_end(self, key: str) -> bool:
        """Handed over up to the log end last known (0 when none is)."""
        return self.next.get(key, 0) >= (self.log_end(key) or 0)

    def log_end(self, key: str) -> int | None:
        """The partition's log end as last polled (with the commands we sent ourselves); None
        when it was never polled since it was assigned."""
        tp = tp_of(key)
        if self.consumer.last_poll_timestamp(tp) is None:
            return None
        return max(self.consumer.highwater(tp) or 0, self.produced.get(key, 0))

    def log_ends_before(self) -> dict[str, tuple[int, str]]:
        """Partitions whose freshly polled log ends before the position read from (the log
        started over): ``key -> (log end, reason)``."""
        found: dict[str, tuple[int, str]] = {}
        for key, position in self.next.items():
            tp = tp_of(key)
            end = self.consumer.highwater(tp)
            if end is not None and self.consumer.last_poll_timestamp(tp) and end < position:
                found[key] = (end, f"the log ends at offset {end}, before the position "
                                   f"{position} read from")
        return found
