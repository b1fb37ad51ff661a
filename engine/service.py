"""The service layer of the worker: a batch of Kafka messages in, one store transaction out.

Per message: skip it if its offset is below the stored position (already applied), decode and
validate it (dead letter on failure), load the member (kept in memory: this process is the single
writer of the members of its partitions), apply the fact (dead letter on a business refusal).
After the messages, a sweep advances the members in memory to engine time (every six hours of
it, or when idle) and records how far (the sweep marks), and referrers decide the referral
claims no earlier claim can still overtake (``engine.settlement``, decision 0007). Then the
members' new events, the positions reached, the dead letters, the outgoing commands and the
marks are saved in ONE transaction; the store's positions, not Kafka's, say what was applied.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import random
import time
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import orjson
from eventsourcing.persistence import IntegrityError, PersistenceError

from engine import settlement
from engine.aggregates.commands import Command
from engine.aggregates.member import Member
from engine.broker import DEFAULT_PARTITIONS
from engine.contract import COMMANDS_TOPIC, DEAD_LETTER_TOPIC, Fact, decode
from engine.errors import InvalidFact, RejectedFact
from engine.heap import Heap
from engine.residency import DEFAULT_LIMIT, Residency, due_members
from engine.signing import Verifier
from engine.store.app import LoyaltyStore
from engine.store.programs import catalog_version, program_book
from engine.store.recorders import SideWrites

log = logging.getLogger(__name__)

MAX_CONFLICT_RETRIES = 50
PROGRAM_POLL_SECONDS = 2.0
# Engine time between two sweeps of the members in memory (activations, expiries, reviews of
# members who have gone quiet while others' facts move time on).
SWEEP_EVERY = timedelta(hours=6)


@dataclass(frozen=True, slots=True)
class Incoming:
    """One Kafka record as the stream hands it over (timestamp in ms, as Kafka gives it)."""

    topic: str
    partition: int
    offset: int
    value: bytes
    headers: tuple[tuple[str, bytes], ...] = ()
    timestamp_ms: int | None = None
    # The fact or command read from ``value`` ahead of the ledger (by ``read_value``), or None
    # when it could not be read: the ledger then reads it again and says why.
    decoded: Any = None

    @property
    def position_key(self) -> str:
        return f"{self.topic}#{self.partition}"


@dataclass
class BatchOutcome:
    applied: int = 0
    skipped: int = 0
    dead_lettered: int = 0
    commands: int = 0
    last_event_time: Any = None
    written: bool = False  # the batch's transaction wrote something


class _Poison(Exception):
    """An unexpected error while applying one message; the batch is retried message by message
    so that only that message is dead-lettered."""


@dataclass
class _Batch:
    members: dict[str, Member] = field(default_factory=dict)
    fresh: set[str] = field(default_factory=set)
    absent: set[str] = field(default_factory=set)  # read for this batch: not in the store
    side: SideWrites = field(default_factory=SideWrites)
    outcome: BatchOutcome = field(default_factory=BatchOutcome)
    marked: datetime | None = None  # the sweep mark this batch writes


class Ledger:
    """Applies batches of messages to members; owns the in-memory members of its partitions."""

    def __init__(self, store: LoyaltyStore, verifier: Verifier | None = None, *,
                 members_in_memory: int = DEFAULT_LIMIT) -> None:
        self.store = store
        self.verifier = verifier
        # In use order, least recently used first; bounded (engine/residency.py).
        self.members: dict[str, Member] = {}
        self.residency = Residency(members_in_memory)
        self.positions: dict[str, int] = store.positions()
        self.programs = program_book(store)
        self._catalog_version = catalog_version(store)
        self._catalog_checked = time.monotonic()
        self.swept_to: datetime | None = None
        self._held: settlement.Held = {}
        self._owed: dict[str, datetime] = {}  # members a sweep took only part of the way
        self.epochs = store.position_epochs()
        # The membership partitions this ledger sweeps (the worker's assignment): their sweep
        # marks are its to move.
        self.owned: frozenset[int] = frozenset(range(DEFAULT_PARTITIONS))
        self.engine_time: datetime | None = None  # the latest fact time applied
        self._claimants: set[str] = set()  # referrers in memory with undecided claims
        self._dropped: set[str] = set()  # members forgotten after a failed save
        self._marked: datetime | None = None  # the sweep mark last written
        self.heap = Heap()

    def handle(self, messages: Sequence[Incoming],
               held: settlement.Held | None = None) -> BatchOutcome:
        """Apply a batch exactly once; returns what happened. Never raises for bad input.
        ``held``: per member, the (time, source id) of the facts and commands the caller still
        holds back; a sweep takes the member no further than the earliest it has not seen, so
        that one is not applied late, and finishes the sweep once it is applied."""
        self._held = held or {}
        self._refresh_programs()
        self.heap.settle()  # what the batches before left in memory is long-lived
        for attempt in range(MAX_CONFLICT_RETRIES):
            try:
                return self._apply(messages, isolate=False)
            except IntegrityError as exc:
                # Another writer (a redemption through the API, or a worker that owned these
                # partitions before a rebalance) got there first: reload and try again.
                # The batch's members were dropped from memory when the save failed; positions
                # are re-read in case the other writer was a worker.
                log.info("store conflict (%s), retrying the batch (attempt %d)", exc, attempt + 1)
                backoff(attempt)
                self.positions = self.store.positions()
            except _Poison:
                self._forget_all()
                return self._one_by_one(messages)
        raise IntegrityError(f"batch still conflicting after {MAX_CONFLICT_RETRIES} attempts")

    def tick(self, held: settlement.Held | None = None,
             caught_up: bool = False) -> bool:
        """When no message is waiting: sweep the members to the engine time reached and decide
        the referral claims that can be decided now (other workers' sweeps may have allowed
        it). ``caught_up``: every owned partition is read to its end and nothing is held back;
        engine time then moves on to the latest another worker has reached, as one worker's
        would. Returns whether anything was written (commands to send, perhaps)."""
        self._held = held or {}
        self._refresh_programs()
        self._hold_claimants(self.owned)
        if caught_up and not self._held:
            self._join_engine_time()
        return self._apply((), isolate=False, idle=True).written

    def _join_engine_time(self) -> None:
        """Move engine time to the latest sweep mark of any partition, or the latest claim
        received: another worker's engine time has reached it."""
        latest_mark = settlement.latest_mark(self.store)
        times = [latest_mark] if latest_mark is not None else []
        for customer_id in self._claimants:
            member = self.members.get(customer_id)
            if member is not None and member.referral_claims:
                times.append(max(c["at"] for c in member.referral_claims.values()))
        latest = max(times, default=None)
        if latest is not None and (self.engine_time is None or latest > self.engine_time):
            self.engine_time = latest

    def _hold_claimants(self, partitions: Collection[int]) -> int:
        """Hold the referrers of these partitions with undecided claims (another process may
        have received them: a worker before a takeover, the claims of a back-office sweep)."""
        if not partitions:
            return 0
        marks = ", ".join("?" for _ in partitions)
        rows = self.store.sql.query(
            "SELECT DISTINCT customer_id, kafka_partition FROM referral_claims "
            f"WHERE kafka_partition IN ({marks})", tuple(sorted(partitions)))
        return self._hold([(str(row["customer_id"]), int(row["kafka_partition"]))
                           for row in rows])

    def reset_positions(self, resets: dict[str, tuple[int, str]]) -> None:
        """Start partitions over whose log no longer matches the stored position
        (``key -> (log end, reason)``): the facts re-sent into the new log are applied, and the
        event_id guard keeps those already applied from counting twice."""
        stamp = datetime.now().astimezone().isoformat()  # when it was noticed, not an event
        with self.store.sql.transaction() as cur:
            for key, (log_end, reason) in resets.items():
                stored = self.positions.get(key, 0)
                self.store.sql.execute(
                    cur, "INSERT INTO position_resets VALUES (?, ?, ?, ?, ?)",
                    (key, stored, log_end, reason, stamp))
                self.store.sql.execute(
                    cur, "UPDATE kafka_positions SET next_offset = 0, last_digest = NULL "
                    "WHERE key = ?", (key,))
                log.warning("partition %s: %s; stored position %d reset to 0", key, reason,
                            stored)
            if any(key.startswith(f"{COMMANDS_TOPIC}#") for key in resets):
                # Commands sent into the lost log and not applied yet are sent again (a
                # command counts once, by its id).
                self.store.sql.execute(
                    cur, "UPDATE outbox SET sent = 0 WHERE topic = ? AND sent = 1 AND id NOT IN "
                    "(SELECT event_id FROM source_facts WHERE kind = 'command')",
                    (COMMANDS_TOPIC,))
        self.positions = self.store.positions()
        self.epochs = self.store.position_epochs()

    def source_key(self, message: Incoming) -> str:
        """A record's key among sources and dead letters: its position, and the log epoch
        when the partition was started over (offsets repeat after a reset)."""
        epoch = self.epochs.get(message.position_key, 0)
        where = message.position_key if not epoch else f"{message.position_key}~{epoch}"
        return f"{where}@{message.offset}"

    def hold_pending(self, partitions: set[int]) -> int:
        """Keep in memory the members of these partitions with referral claims undecided, and
        those with points still pending that the due index does not know (a store written
        before it), so that sweeps activate them on time (and send the claims an activation
        qualifies) and settle their claims even when no new fact of theirs comes; after a
        restart or a takeover nothing else would bring them in. The due index brings back the
        others when they fall due (engine/residency.py). Returns how many were loaded."""
        if not partitions:
            return 0
        marks = ", ".join("?" for _ in partitions)
        rows = self.store.sql.query(
            "SELECT DISTINCT b.customer_id, s.kafka_partition FROM balances b JOIN source_facts s "
            "ON s.customer_id = b.customer_id WHERE b.pending > 0 AND s.kind = 'fact' "
            f"AND s.kafka_partition IN ({marks}) AND NOT EXISTS "
            "(SELECT 1 FROM member_due d WHERE d.customer_id = b.customer_id)",
            tuple(sorted(partitions)))
        return self._hold([(str(row["customer_id"]), int(row["kafka_partition"]))
                           for row in rows]) + self._hold_claimants(partitions)

    def _hold(self, found: Sequence[tuple[str, int | None]],
              into: dict[str, Member] | None = None,
              read: dict[str, Member] | None = None) -> int:
        """Read these members (customer id, partition) from the store into memory, or into
        a batch's members, unless they are in memory already; ``read``: the stored ones
        among them, read already."""
        loaded = 0
        for customer_id, partition in found:
            if customer_id in self.members or (into is not None and customer_id in into):
                continue
            member = (self.store.get_member(customer_id) if read is None
                      else read.get(customer_id))
            if member is None:
                continue
            (self.members if into is None else into)[customer_id] = member
            if partition is not None:
                self.residency.partitions[customer_id] = partition
            if member.referral_claims:
                self._claimants.add(customer_id)
            loaded += 1
        return loaded

    def reload(self) -> None:
        self.members.clear()
        self.residency.clear()
        self._owed.clear()
        self._claimants.clear()
        self._dropped.clear()
        self.positions = self.store.positions()
        self.programs = program_book(self.store)
        self._catalog_version = catalog_version(self.store)

    def _refresh_programs(self) -> None:
        """Pick up a newly published program version (polled, cheaply, every few seconds)."""
        now = time.monotonic()
        if now - self._catalog_checked < PROGRAM_POLL_SECONDS:
            return
        self._catalog_checked = now
        version = catalog_version(self.store)
        if version != self._catalog_version:
            self._catalog_version = version
            self.programs = program_book(self.store)
            log.info("program catalog now at version %d", version)

    def _one_by_one(self, messages: Sequence[Incoming]) -> BatchOutcome:
        total = BatchOutcome()
        for message in messages:
            outcome = self._apply([message], isolate=True)
            total.applied += outcome.applied
            total.skipped += outcome.skipped
            total.dead_lettered += outcome.dead_lettered
            total.commands += outcome.commands
            total.last_event_time = outcome.last_event_time or total.last_event_time
        return total

    def _apply(self, messages: Sequence[Incoming], *, isolate: bool,
               idle: bool = False) -> BatchOutcome:
        self._bring_back_dropped()
        batch = _Batch()
        self._read_members(messages, batch)
        for message in messages:
            key = message.position_key
            if message.offset < batch.side.positions.get(key, self.positions.get(key, 0)):
                batch.outcome.skipped += 1
                continue
            batch.side.positions[key] = message.offset + 1
            batch.side.digests[key] = record_digest(message.value)
            try:
                self._apply_one(message, batch)
            except (InvalidFact, RejectedFact) as exc:
                self._dead_letter(batch, message, exc.reason)
            except Exception as exc:
                if is_infrastructure(exc):
                    raise  # the store is down: the batch waits, nothing is dead-lettered
                if not isolate:
                    raise _Poison(str(exc)) from exc
                log.exception("engine error on %s@%d", key, message.offset)
                batch.members.clear()
                self._forget_all()
                self._dead_letter(batch, message, f"engine error: {type(exc).__name__}")
        now = batch.outcome.last_event_time
        if idle:  # sweep again when time moved on, or when the mark would move now
            moved = self.engine_time is not None and (
                self.engine_time != self.swept_to
                or settlement.mark_time(self.engine_time, self._held) != self._marked)
            now = self.engine_time if moved else None
        sweeping = now is not None and (idle or self.swept_to is None
                                        or now - self.swept_to >= SWEEP_EVERY)
        if sweeping:
            self._sweep(batch, now)
            self._mark(batch, now)
        elif self._owed:
            self._sweep(batch, None)
        self._settle(batch)
        if idle and not batch.members and not batch.side:
            return batch.outcome
        victims = self._due_rows(batch)
        try:
            self.store.save(batch.members.values(), batch.side)
        except Exception:
            # The in-memory members hold events that did not land: forget them (they are
            # read again from the store before the next batch).
            for customer_id in batch.members:
                self.members.pop(customer_id, None)
                self._dropped.add(customer_id)
            raise
        batch.outcome.written = True
        self.positions.update(batch.side.positions)
        self.residency.committed(batch.side.dues)
        members = self.members
        for customer_id, member in batch.members.items():  # now the most recently used
            members.pop(customer_id, None)
            members[customer_id] = member
        for customer_id in victims:
            del members[customer_id]
        self.residency.forget(victims)
        if sweeping:
            self.swept_to = now
        if batch.marked is not None:
            self._marked = batch.marked
        last = batch.outcome.last_event_time
        if last is not None and (self.engine_time is None or last > self.engine_time):
            self.engine_time = last
        return batch.outcome

    def _due_rows(self, batch: _Batch) -> list[str]:
        """Write the next due of every member the batch saves, and pick the members to let go
        after it (their due rows go with it): see engine/residency.py."""
        residency = self.residency
        victims = residency.victims(self.members, batch.members, (self._claimants, self._owed))
        batch.side.dues.extend(residency.due_rows(batch.members))
        batch.side.dues.extend(residency.due_rows(
            {c: self.members[c] for c in victims if c not in batch.members}))
        return victims

    def _forget_all(self) -> None:
        """Drop the members in memory (one may hold events of a failed apply); they are read
        again from the store before the next batch."""
        self._dropped.update(self.members)
        self.members.clear()

    def _bring_back_dropped(self) -> None:
        """Read again the members forgotten after a failed save: a sweep must still reach
        them (their pending points, their undecided claims)."""
        if self._dropped:
            partitions = self.residency.partitions
            dropped = sorted(self._dropped)
            self._hold([(c, partitions.get(c)) for c in dropped],
                       read=self.store.get_members(dropped))
            self._dropped.clear()

    def _mark(self, batch: _Batch, goal: datetime) -> None:
        """After a full sweep to ``goal``: every member of the owned partitions has been taken
        to ``goal``, or to the earliest fact still held back, so every referral claim due by
        the earlier of the two has been sent. Other workers' referrers read these marks."""
        mark = settlement.mark_time(goal, self._held)
        text = settlement.text(mark)
        batch.marked = mark
        for partition in self.owned:
            batch.side.marks[partition] = text

    def _settle(self, batch: _Batch) -> None:
        """Decide the referral claims no earlier claim can still overtake: due by the cut, and
        before any claim sent to the referrer that has not reached it. A referrer's cap then
        counts the same rewards whatever order its claims arrived in."""
        if not self._claimants:
            return
        cut = settlement.cut(self.store, batch.side.marks)
        if cut is None:
            return
        for customer_id in sorted(self._claimants):
            member = batch.members.get(customer_id) or self.members.get(customer_id)
            earliest = member.earliest_claim() if member is not None else None
            if member is None or earliest is None:
                self._claimants.discard(customer_id)
                continue
            if earliest > cut:
                continue
            before = settlement.unarrived(self.store, member, batch.side.outbox)
            if before is not None and earliest >= before:
                continue
            claims, version = set(member.referral_claims), member.version
            self._emit(batch, member.settle_referrals(cut, before, self.programs))
            batch.members[customer_id] = member
            batch.side.decided.extend(sorted(claims - set(member.referral_claims)))
            if not member.referral_claims:
                self._claimants.discard(customer_id)
            if member.version == version:
                continue
            body = {"until": cut.isoformat(), "before": before.isoformat() if before else None}
            batch.side.source_facts.append((
                f"settle:{member.id.hex}:{version + 1}", "settle", "engine", 0, 0,
                cut.isoformat(), customer_id, member.id.hex, version + 1, member.version,
                orjson.dumps(body).decode(),
            ))

    def _sweep(self, batch: _Batch, now: datetime | None) -> None:
        """Advance every member in memory with something due by engine time ``now`` (with
        ``now`` None: only those an earlier sweep took part of the way)."""
        if now is None:
            targets = {c: batch.members.get(c) or self.members.get(c) for c in self._owed}
        else:
            # The members not in memory that are due by now are read back first.
            self._hold(due_members(self.store, self.owned, settlement.text(now)),
                       into=batch.members)
            targets = {**self.members, **batch.members}
        for customer_id, member in targets.items():
            goal = now or self._owed.get(customer_id)
            due = member.next_due() if member is not None else None
            if goal is None or member is None or due is None or due > goal:
                self._owed.pop(customer_id, None)
                continue
            at = self._not_past_held(customer_id, member, goal)
            if at < goal:
                self._owed[customer_id] = goal
            else:
                self._owed.pop(customer_id, None)
            if due > at:
                continue
            before = member.version
            self._emit(batch, member.advance(at, self.programs))
            batch.members[customer_id] = member
            if member.version == before:
                continue
            batch.side.source_facts.append((
                f"sweep:{member.id.hex}:{at.isoformat()}:{before + 1}", "sweep", "engine", 0, 0,
                at.isoformat(), customer_id, member.id.hex, before + 1, member.version,
                orjson.dumps({"now": at.isoformat()}).decode(),
            ))

    def _not_past_held(self, customer_id: str, member: Member, goal: datetime) -> datetime:
        """``goal``, or the time of the member's earliest held-back fact it has not seen."""
        not_past = getattr(self._held, "not_past", None)  # a sequencer's view, without datetimes
        if not_past is not None:
            return not_past(customer_id, goal, member.seen)  # type: ignore[no-any-return]
        at = goal
        for when, source_id in self._held.get(customer_id, ()):
            if when < at and source_id not in member.seen:
                at = when
        return at

    def _apply_one(self, message: Incoming, batch: _Batch) -> None:
        if message.topic == COMMANDS_TOPIC:
            command = message.decoded or Command.from_json(message.value)
            self._check_issued(command.command_id, message.value)
            member = self._member(command.customer_id, command.occurred_at, batch,
                                  message.partition)
            before = _version_before(member, batch)
            claims = len(member.referral_claims)
            self._emit(batch, member.apply_command(command, self.programs))
            self._record_source(batch, message, "command", command.command_id, member, before)
            if len(member.referral_claims) > claims:
                batch.side.claims.append((command.command_id, member.customer_id,
                                          message.partition))
                self._claimants.add(member.customer_id)
            batch.outcome.applied += 1
            return
        if self.verifier is not None:
            produced = message.timestamp_ms / 1000 if message.timestamp_ms else time.time()
            self.verifier.verify(message.headers, message.value, produced)
        fact = message.decoded or decode(message.value)
        member = self._member(fact.customer_id, fact.occurred_at, batch, message.partition)
        before = _version_before(member, batch)
        try:
            self._emit(batch, member.apply_fact(fact, self.programs))
        except RejectedFact:
            if fact.customer_id in batch.fresh and len(member.pending_events) == 1:
                # A refused first fact does not enrol anybody.
                del batch.members[fact.customer_id]
                batch.fresh.discard(fact.customer_id)
            raise
        self._record_source(batch, message, "fact", fact.event_id, member, before)
        batch.outcome.applied += 1
        batch.outcome.last_event_time = _later(batch.outcome.last_event_time, fact)

    def _check_issued(self, command_id: str, value: bytes) -> None:
        """Apply only commands this engine issued: its outbox (in the store every worker shares)
        holds each one byte for byte. Anyone able to write to the commands topic could
        otherwise forge referral rewards."""
        rows = self.store.sql.query(
            "SELECT payload FROM outbox WHERE id = ? AND topic = ?", (command_id, COMMANDS_TOPIC))
        if not rows or str(rows[0]["payload"]).encode() != value:
            raise RejectedFact(f"command {command_id} was not issued by this engine (no such "
                               "command in its outbox); refused")

    def _record_source(
        self, batch: _Batch, message: Incoming, kind: str, source_id: str, member: Member,
        before: int,
    ) -> None:
        """Keep the accepted message with the span of member versions it produced (none for a
        re-sent fact), in the batch's transaction."""
        after = member.version
        span = (before + 1, after) if after > before else (None, None)
        batch.side.source_facts.append((
            self.source_key(message), kind, message.topic, message.partition,
            message.offset, source_id, member.customer_id, member.id.hex, *span,
            message.value.decode("utf-8"),
        ))

    def _read_members(self, messages: Sequence[Incoming], batch: _Batch) -> None:
        """Read the batch's members that are not in memory, all in one read; those not in the
        store are noted, so that ``_member`` does not ask for them again."""
        wanted: dict[str, int] = {}
        members = self.members
        for message in messages:
            customer_id = getattr(message.decoded, "customer_id", None)
            if customer_id and customer_id not in members and customer_id not in wanted:
                wanted[customer_id] = message.partition
        if len(wanted) < 2:
            return  # one read either way
        read = self.store.get_members(wanted)
        self._hold(list(wanted.items()), into=batch.members, read=read)
        batch.absent.update(c for c in wanted if c not in read)

    def _member(self, customer_id: str, at: Any, batch: _Batch, partition: int) -> Member:
        self.residency.partitions[customer_id] = partition
        member = batch.members.get(customer_id) or self.members.get(customer_id)
        if (member is None and customer_id not in batch.absent
                and self._hold([(customer_id, partition)], into=batch.members)):
            member = batch.members[customer_id]
        if member is None:
            member = Member(customer_id=customer_id, timestamp=at)
            batch.fresh.add(customer_id)
        batch.members[customer_id] = member
        return member

    def _emit(self, batch: _Batch, commands: Sequence[Any]) -> None:
        for command in commands:
            batch.side.outbox.append(
                (command.command_id, COMMANDS_TOPIC, command.customer_id,
                 command.to_json().decode())
            )
            batch.outcome.commands += 1

    def _dead_letter(self, batch: _Batch, message: Incoming, reason: str) -> None:
        event_id, customer_id = _ids(message.value)
        reason = _storable(reason)
        key = self.source_key(message)
        payload = base64.b64encode(message.value).decode()
        batch.side.dead_letters.append(
            (key, message.topic, message.partition, message.offset, reason, payload,
             event_id, customer_id)
        )
        envelope = {
            "value_b64": payload,
            "headers": {
                "reason": reason,
                "source_topic": message.topic,
                "source_partition": str(message.partition),
                "source_offset": str(message.offset),
            },
        }
        batch.side.outbox.append(
            (f"dlq:{key}", DEAD_LETTER_TOPIC, customer_id or "", orjson.dumps(envelope).decode())
        )
        batch.outcome.dead_lettered += 1


def read_value(topic: str, value: bytes) -> Fact | Command | None:
    """The fact (or, on the commands topic, the command) a record carries, or None when it
    cannot be read (the ledger dead-letters it with the reason)."""
    try:
        return Command.from_json(value) if topic == COMMANDS_TOPIC else decode(value)
    except Exception:
        return None


def is_infrastructure(exc: BaseException) -> bool:
    """An outage of the store (not a fault of the message)."""
    import sqlite3

    import psycopg

    return isinstance(exc, (PersistenceError, sqlite3.Error, psycopg.Error, OSError))


def record_digest(value: bytes) -> str:
    """Identifies a record's content, to check later that a log still holds it."""
    return hashlib.blake2b(value, digest_size=12).hexdigest()


def backoff(attempt: int) -> None:
    """Sleep before retrying a conflicting write: exponential, capped, jittered so that two
    writers chasing the same member fall out of step."""
    time.sleep(random.uniform(0.5, 1.0) * min(0.5, 0.002 * 2**attempt))


def _version_before(member: Member, batch: _Batch) -> int:
    """The member's version before the message; a member this message enrols starts at 0, so
    its Enrolled event belongs to the message too. (An aggregate's version counts its pending
    events.)"""
    if member.customer_id in batch.fresh and member.version == 1:
        return 0
    return member.version


def _ids(value: bytes) -> tuple[str | None, str | None]:
    """Best-effort ids of a refused message, for listing; never raises."""
    try:
        obj = orjson.loads(value)
    except orjson.JSONDecodeError:
        return None, None
    if not isinstance(obj, dict):
        return None, None
    event_id, customer_id = obj.get("event_id"), obj.get("customer_id")
    return (
        _storable(event_id) if isinstance(event_id, str) else None,
        _storable(customer_id) if isinstance(customer_id, str) else None,
    )


def _storable(text: str) -> str:
    """Text of a refused message as a database can keep it: PostgreSQL's text refuses NUL, and
    a dead letter that cannot be written would stall its partition for good."""
    return text.replace("\x00", "\\u0000")


def _later(current: Any, fact: Fact) -> Any:
    return fact.occurred_at if current is None or fact.occurred_at > current else current
