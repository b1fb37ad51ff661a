"""A release cut short while records are known to be on the broker, not fetched yet, waits for
them to make one batch instead of a batch of its own (engine/streams/loop.py, GATHER_SECONDS);
it goes alone once nothing more is known to come, or once it has waited long enough."""

from __future__ import annotations

import asyncio
import time
from types import SimpleNamespace
from typing import Any

import pytest

from engine.service import BatchOutcome, Incoming, read_value
from engine.streams import loop
from engine.streams.app import WorkerStats
from engine.streams.health import Health
from engine.streams.loop import Ingest, topic_rank
from engine.streams.sequencer import Sequencer
from tests.support.facts import order

KEY = "loyalty.orders#0"


def record(offset: int) -> Incoming:
    value = order(f"e-{offset}", "ann", "10.00", at=f"2025-03-01T10:00:{offset:02d}+00:00")
    return Incoming("loyalty.orders", 0, offset, value,
                    decoded=read_value("loyalty.orders", value))


class FakeFeed:
    """Hands over scripted fetches; ``more`` says whether the broker holds unfetched records."""

    def __init__(self, fetches: list[list[Incoming]]) -> None:
        self.fetches = fetches
        self.more = True
        self.keys = {KEY}
        self.paused: set[str] = set()
        self.polls = 0

    async def fetch(self, timeout_ms: int) -> tuple[list[Incoming], int]:
        self.polls += 1
        return (self.fetches.pop(0) if self.fetches else []), self.polls

    def caught_up(self, key: str, since: int) -> bool:
        return True

    def behind(self) -> bool:
        return self.more

    def log_ends_before(self) -> dict[str, Any]:
        return {}

    def log_end(self, key: str) -> int | None:
        return None

    def pause(self, keys: Any) -> None: ...

    def resume(self, keys: Any) -> None: ...


class FakeLedger:
    def __init__(self) -> None:
        self.batches: list[list[int]] = []
        self.positions: dict[str, int] = {}
        self.members: dict[str, Any] = {}
        self.residency = SimpleNamespace(let_go=0)

    def handle(self, messages: list[Incoming], held: Any = None) -> BatchOutcome:
        self.batches.append([m.offset for m in messages])
        return BatchOutcome(applied=len(messages), written=True)


def ingest_over(feed: FakeFeed) -> tuple[Ingest, FakeLedger]:
    ingest = object.__new__(Ingest)
    ledger = FakeLedger()
    ingest.ledger = ledger  # type: ignore[assignment]
    ingest.feed = feed  # type: ignore[assignment]
    ingest.stats = WorkerStats()
    ingest.health = Health()
    ingest.sequencer = Sequencer(topic_rank, 5.0)
    ingest.sequencer.track([KEY])
    ingest.lock = asyncio.Lock()
    ingest.pending = None
    ingest.gathered = []
    ingest._gathering_since = None
    ingest._ticked = 0.0

    async def same_broker(records: list[Incoming]) -> bool:
        return True

    ingest._same_broker = same_broker  # type: ignore[method-assign]
    return ingest, ledger


def test_a_short_release_waits_for_the_records_still_on_the_broker():
    feed = FakeFeed([[record(0), record(1), record(2)], [record(3), record(4)]])
    ingest, ledger = ingest_over(feed)
    assert asyncio.run(ingest.turn()) == 0  # 3 released, more known to come: gathered
    assert ledger.batches == [] and len(ingest.gathered) == 3
    assert asyncio.run(ingest.idle_tick()) == 0  # no sweep past records held by no one
    feed.more = False
    assert asyncio.run(ingest.turn()) == 5
    assert ledger.batches == [[0, 1, 2, 3, 4]] and ingest.gathered == []


def test_a_gathering_batch_goes_once_it_has_waited_long_enough(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(loop, "GATHER_SECONDS", 0.05)
    feed = FakeFeed([[record(0), record(1)]])
    ingest, ledger = ingest_over(feed)
    assert asyncio.run(ingest.turn()) == 0
    time.sleep(0.06)
    assert asyncio.run(ingest.turn()) == 2  # the broker still "has more": it goes anyway
    assert ledger.batches == [[0, 1]]


def test_gathered_records_of_partitions_read_again_are_dropped():
    feed = FakeFeed([[record(0), record(1)]])
    ingest, _ = ingest_over(feed)
    asyncio.run(ingest.turn())
    ingest._drop_gathered({"loyalty.shares#0"})
    assert [m.offset for m in ingest.gathered] == [0, 1]
    ingest._drop_gathered({KEY})
    assert ingest.gathered == [] and ingest._gathering_since is None
