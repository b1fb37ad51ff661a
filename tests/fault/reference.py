"""The expected ledger: one clean run of the real service layer (``engine.service.Ledger``) on a
real SQLite store, fed the history once, in the order it happened, with every referral command
delivered right after the batch that produced it. No broker, no concurrency, no faults, and
deterministic: the yardstick every faulty run is compared with."""

from __future__ import annotations

import time
import zlib
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from engine.broker import DEFAULT_PARTITIONS
from engine.config import Settings
from engine.contract import COMMANDS_TOPIC
from engine.service import Incoming, Ledger, read_value
from engine.streams.loop import READ_TOPICS, topic_rank
from engine.streams.sequencer import Sequencer
from engine.store import open_store
from engine.store.app import LoyaltyStore
from engine.store.outbox import mark_sent, pending
from tests.fault.deploy import Expectation
from tests.fault.history import History
from tests.fault.kafka import Record
from tests.fault.ledger import Outcome, Probe, final_outcome

BATCH = 200


@dataclass
class Reference:
    history: History
    outcome: Outcome
    expect: Expectation
    seconds: float
    accepted: frozenset[str] = frozenset()  # the facts the reference applied

    @property
    def catch_up_timeout(self) -> float:
        """How long a deployment may take to catch up with this history (generous)."""
        return 60.0 + len(self.history.records) / 100


class _Offsets:
    """Kafka-like positions for records fed to the Ledger directly."""

    def __init__(self) -> None:
        self.next: dict[tuple[str, int], int] = {}

    def incoming(self, topic: str, key: bytes | None, value: bytes) -> Incoming:
        partition = zlib.crc32(key or b"") % DEFAULT_PARTITIONS
        offset = self.next.get((topic, partition), 0)
        self.next[(topic, partition)] = offset + 1
        return Incoming(topic, partition, offset, value)


def replay_in_order(records: Sequence[Record], store_path: Path) -> Settings:
    """Apply the records in the given order through the real Ledger; returns the store's
    settings."""
    settings = Settings(store_url=str(store_path), data_dir=store_path.parent)
    store = open_store(settings)
    try:
        ledger, offsets = Ledger(store), _Offsets()
        messages = [offsets.incoming(r.topic, r.key, r.value or b"") for r in records]
        last = len(messages) - 1
        for start in range(0, len(messages), BATCH):
            ledger.handle(messages[start:start + BATCH])
            while True:  # deliver the commands before the next facts
                sent = pending(store)
                mark_sent(store, [m.id for m in sent])
                commands = [offsets.incoming(COMMANDS_TOPIC, m.key, m.value) for m in sent
                            if m.topic == COMMANDS_TOPIC]
                if commands:
                    ledger.handle(commands)
                elif start + BATCH <= last or not ledger.tick(caught_up=True):
                    break  # at the end, as an idle worker does: sweep and settle claims
    finally:
        store.close()
    return settings


def replay_sequenced(records: Sequence[Record], store_path: Path, chunk: int) -> Settings:
    """Apply the records as the worker does: fetched ``chunk`` at a time from each partition
    in turn (partitions read at different speeds), put in event-time order by the worker's
    Sequencer, applied in batches; the commands a batch produces join their partitions' logs."""
    settings = Settings(store_url=str(store_path), data_dir=store_path.parent)
    store = open_store(settings)
    try:
        ledger, offsets = Ledger(store), _Offsets()
        logs: dict[str, list[Incoming]] = defaultdict(list)
        for r in records:
            m = offsets.incoming(r.topic, r.key, r.value or b"")
            logs[m.position_key].append(replace(m, decoded=read_value(m.topic, m.value)))
        sequencer = Sequencer(topic_rank, max_idle=3600)
        sequencer.track(f"{t}#{p}" for t in READ_TOPICS for p in range(DEFAULT_PARTITIONS))
        fetched: dict[str, int] = defaultdict(int)
        poll = 0
        while True:
            poll += 1
            for key, log in list(logs.items()):
                sequencer.add(log[fetched[key]:fetched[key] + chunk], polled=poll)
                fetched[key] = min(len(log), fetched[key] + chunk)
            released = sequencer.release(
                lambda key, since: fetched[key] >= len(logs[key]) and poll > since, BATCH * 10)
            if released:
                ledger.handle(released, sequencer.held_back())
                _forward(store, offsets, logs)
            elif all(fetched[k] >= len(v) for k, v in logs.items()) and not len(sequencer):
                if not ledger.tick(caught_up=True):  # as an idle worker does: sweep and settle claims
                    break
                _forward(store, offsets, logs)
    finally:
        store.close()
    return settings


def _forward(store: LoyaltyStore, offsets: _Offsets,
             logs: dict[str, list[Incoming]]) -> None:
    """Send the outbox: commands join their partitions' logs."""
    sent = pending(store)
    mark_sent(store, [m.id for m in sent])
    for m in sent:
        if m.topic == COMMANDS_TOPIC:
            c = offsets.incoming(COMMANDS_TOPIC, m.key, m.value)
            logs[c.position_key].append(replace(c, decoded=read_value(c.topic, c.value)))


def reference(history: History, workdir: Path) -> Reference:
    started = time.monotonic()
    workdir.mkdir(parents=True, exist_ok=True)
    settings = replay_in_order(history.records, workdir / "reference.sqlite")
    progress = Probe(settings.store_url).progress()
    assert progress is not None
    outcome = final_outcome(settings, history.end)
    expect = Expectation(history.event_ids, progress.commands)
    return Reference(history, outcome, expect, time.monotonic() - started,
                     frozenset(progress.accepted))
