"""When a referrer may decide its referral claims (decision 0007): the store-side reads and
writes of the sweep marks and of the claims still on their way.

A sweep mark says, per membership partition, the engine time by which every referral claim of
its members has been sent. The cut, the earliest mark of all partitions, is the time by which
every claim has been sent. A referrer decides the claims due by the cut, and before any claim
sent to it that it has not received yet. Marks are fixed-width UTC text, so they compare as
the times do, and they only move forward.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime

from engine.aggregates.commands import REFERRAL_QUALIFIED, Command
from engine.aggregates.member import Member
from engine.broker import DEFAULT_PARTITIONS
from engine.contract import COMMANDS_TOPIC
from engine.projections.support import ts
from engine.store.app import LoyaltyStore
from engine.store.recorders import UPSERT_MARK

Held = Mapping[str, Sequence[tuple[datetime, str]]]  # per member: (time, source id) held back


def text(at: datetime) -> str:
    """A mark as stored: fixed-width UTC text."""
    return ts(at) or ""


def mark_time(goal: datetime, held: Held) -> datetime:
    """The mark of a full sweep to ``goal``: ``goal``, or the time of the earliest record
    still held back when earlier (its member was swept only that far)."""
    earliest = getattr(held, "earliest", None)  # a sequencer's view tells it at once
    if earliest is not None:
        first = earliest()
        return goal if first is None or first >= goal else first
    mark = goal
    for items in held.values():
        for when, _ in items:
            if when < mark:
                mark = when
    return mark


def mark_all_swept(store: LoyaltyStore, at: datetime) -> None:
    """Every member in the store has been swept to ``at`` (a back-office sweep): every
    referral claim due by then has been sent, whatever partition it comes from."""
    with store.sql.transaction() as cur:
        for partition in range(DEFAULT_PARTITIONS):
            store.sql.execute(cur, UPSERT_MARK, (partition, text(at)))


def cut(store: LoyaltyStore, own: Mapping[int, str]) -> datetime | None:
    """The engine time by which every membership partition has sent its referral claims: the
    earliest mark, with ``own`` (marks about to commit with the decision) counted; None while a
    partition has no mark yet."""
    rows = store.sql.query("SELECT kafka_partition, swept_to FROM sweep_marks")
    marks = {int(r["kafka_partition"]): str(r["swept_to"]) for r in rows}
    for partition, mark in own.items():
        marks[partition] = max(mark, marks.get(partition, mark))
    if any(p not in marks for p in range(DEFAULT_PARTITIONS)):
        return None
    return datetime.fromisoformat(min(marks[p] for p in range(DEFAULT_PARTITIONS)))


def latest_mark(store: LoyaltyStore) -> datetime | None:
    """The latest engine time any partition has been swept to."""
    rows = store.sql.query("SELECT MAX(swept_to) AS latest FROM sweep_marks")
    return datetime.fromisoformat(str(rows[0]["latest"])) if rows and rows[0]["latest"] else None


def unarrived(store: LoyaltyStore, member: Member,
              pending: Iterable[tuple[str, str, str, str]]) -> datetime | None:
    """The engine time of the earliest referral claim sent to ``member`` that it has not
    received yet: in the outbox every worker shares, or in ``pending`` (outbox rows of the
    batch in hand: id, topic, key, payload)."""
    customer_id = member.customer_id
    rows = store.sql.query("SELECT id, payload FROM outbox WHERE msg_key = ? AND topic = ?",
                           (customer_id, COMMANDS_TOPIC))
    sent = [(str(r["id"]), str(r["payload"])) for r in rows]
    sent += [(row[0], row[3]) for row in pending
             if row[1] == COMMANDS_TOPIC and row[2] == customer_id]
    earliest: datetime | None = None
    for cid, payload in sent:
        if cid in member.seen:
            continue
        command = Command.from_json(payload)
        if command.type == REFERRAL_QUALIFIED and (earliest is None
                                                   or command.occurred_at < earliest):
            earliest = command.occurred_at
    return earliest
