"""The ledger's sweeps visit the members its index has due (engine/sweep_index.py) instead of
every member in memory; the stored history must be the one the walk of every member wrote,
event for event and in the same order, with members let go and read back, facts held back
and referral commands fed back as the worker does."""

from __future__ import annotations

import zlib
from collections import defaultdict
from pathlib import Path
from typing import Any

import orjson

from engine.config import Settings
from engine.contract import COMMANDS_TOPIC, TOPIC_BY_TYPE, decode
from engine.demo.generate import generate
from engine.errors import InvalidFact
from engine.service import Incoming, Ledger
from engine.store import LoyaltyStore, open_store
from engine.store.outbox import mark_sent, pending

PARTITIONS = 4
BATCH = 150
TABLES = {
    "stored_events": "SELECT originator_id, originator_version, topic, state FROM stored_events "
                     "ORDER BY rowid",
    "source_facts": "SELECT * FROM source_facts ORDER BY rowid",
    "outbox": "SELECT * FROM outbox ORDER BY rowid",
    "member_due": "SELECT * FROM member_due ORDER BY customer_id",
}


class WalkEveryMember(Ledger):
    """The sweep as it was: every member in memory, then the batch's own."""

    def _sweep_targets(self, batch: Any, indexed: set[str]) -> dict[str, Any]:
        return {**self.members, **batch.members}


def _incoming(lines: list[bytes]) -> list[Incoming]:
    offsets: dict[tuple[str, int], int] = defaultdict(int)
    out = []
    for line in lines:
        try:
            obj = orjson.loads(line)
        except orjson.JSONDecodeError:
            obj = {}
        obj = obj if isinstance(obj, dict) else {}
        topic = TOPIC_BY_TYPE.get(obj.get("type"), "loyalty.orders")
        partition = zlib.crc32(str(obj.get("customer_id", "")).encode()) % PARTITIONS
        out.append(Incoming(topic, partition, offsets[(topic, partition)], line))
        offsets[(topic, partition)] += 1
    return out


def _held(messages: list[Incoming]) -> dict[str, list[Any]]:
    """The next batch's facts, as the sequencer would hold them back meanwhile."""
    held: dict[str, list[Any]] = defaultdict(list)
    for message in messages:
        try:
            fact = decode(message.value)
        except InvalidFact:
            continue
        held[fact.customer_id].append((fact.occurred_at, fact.event_id))
    return held


def _run(tmp_path: Path, cls: type[Ledger], incoming: list[Incoming]) -> LoyaltyStore:
    store = open_store(Settings(store_url=str(tmp_path / "loyalty.sqlite"), data_dir=tmp_path))
    ledger = cls(store, members_in_memory=40)
    offsets: dict[int, int] = defaultdict(int)
    fed_back: list[Incoming] = []

    def send() -> list[Incoming]:
        out, messages = [], pending(store)
        for message in messages:
            partition = zlib.crc32(message.key) % PARTITIONS
            out.append(Incoming(COMMANDS_TOPIC, partition, offsets[partition], message.value))
            offsets[partition] += 1
        mark_sent(store, [m.id for m in messages])
        return [m for m in out if m.topic == COMMANDS_TOPIC]

    for start in range(0, len(incoming), BATCH):
        following = incoming[start + BATCH:start + 2 * BATCH]
        ledger.handle(fed_back + incoming[start:start + BATCH], _held(following))
        fed_back = send()
    for _ in range(5):
        ledger.tick(None, caught_up=True)
        if fed_back:
            ledger.handle(fed_back)
        fed_back = send()
    return store


def _tables(store: LoyaltyStore) -> dict[str, list[tuple[Any, ...]]]:
    conn = store.sql.conn  # type: ignore[attr-defined]
    return {name: [tuple(r) for r in conn.execute(sql)] for name, sql in TABLES.items()}


def test_sweeps_from_the_index_store_what_the_walk_of_every_member_stored(
        tmp_path: Path) -> None:
    incoming = _incoming(generate(customers=100, days=800, seed=11))
    walked = _run(tmp_path / "walk", WalkEveryMember, incoming)
    indexed = _run(tmp_path / "index", Ledger, incoming)
    try:
        a, b = _tables(walked), _tables(indexed)
        kinds = {r[2] for r in a["stored_events"]}
        # The history exercises what sweeps do: activations and expiries, members let go.
        assert any(k.endswith("PointsActivated") for k in kinds)
        assert any(k.endswith("PointsExpired") for k in kinds)
        assert sum(1 for r in a["source_facts"] if r[1] == "sweep") > 100
        for name in TABLES:
            assert len(a[name]) == len(b[name]) and a[name] == b[name], name
    finally:
        walked.close()
        indexed.close()
