"""A worker with a backlog stops fetching the partitions far ahead of the others, so what waits
in the sequencer stays bounded (engine/streams/loop.py, HOLD_PER_PARTITION)."""

from __future__ import annotations

from collections import deque

from engine.streams.loop import HOLD_PER_PARTITION, Ingest, topic_rank
from engine.streams.sequencer import Sequencer


class FakeFeed:
    def __init__(self) -> None:
        self.paused: set[str] = set()

    def pause(self, keys: set[str]) -> None:
        self.paused |= set(keys)

    def resume(self, keys: set[str]) -> None:
        self.paused -= set(keys)


def ingest_with(queues: dict[str, int]) -> tuple[Ingest, FakeFeed]:
    ingest = object.__new__(Ingest)
    ingest.sequencer = Sequencer(topic_rank, 5.0)
    ingest.sequencer.queues = {key: deque([None] * n) for key, n in queues.items()}
    ingest.feed = FakeFeed()  # type: ignore[assignment]
    return ingest, ingest.feed  # type: ignore[return-value]


def test_a_partition_holding_its_share_is_paused_until_the_merge_drains_it():
    ingest, feed = ingest_with({"loyalty.reviews#0": HOLD_PER_PARTITION,
                                "loyalty.orders#0": 3, "loyalty.shares#1": HOLD_PER_PARTITION - 1})
    ingest._flow()
    assert feed.paused == {"loyalty.reviews#0"}
    ingest.sequencer.queues["loyalty.reviews#0"].popleft()
    ingest.sequencer.queues["loyalty.shares#1"].append(None)
    ingest._flow()
    assert feed.paused == {"loyalty.shares#1"}
