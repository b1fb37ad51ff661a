"""Reading a deployment's outcome: progress while it runs (raw SQL on the engine's side tables,
tolerant of a database that is down), and the final ledger per member once the workers are
stopped, with the invariants every version of every member must keep."""

from __future__ import annotations

import sqlite3
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import psycopg

from engine.backoffice import sweep
from engine.config import Settings
from engine.projections.balance_fold import fold
from engine.projections.balances import is_member_event
from engine.projections.registry import catch_up_all
from engine.projections.runner import event_fields
from engine.store import open_store

FIELDS = ("available", "pending", "lifetime_earned", "redeemed", "reversed", "expired", "tier")
MemberLedger = dict[str, tuple[Any, ...]]


@dataclass
class Progress:
    positions: dict[str, int]
    unsent: int
    source_rows: int
    accepted: set[str]
    dead_event_ids: set[str]
    dead_letters: int
    commands: int
    undecided: int = 0  # referral claims received and not decided yet

    def fingerprint(self) -> tuple[int, ...]:
        return (sum(self.positions.values()), self.unsent, self.source_rows, self.dead_letters,
                self.commands, self.undecided)


class Probe:
    """Side-table reads on a fresh connection each time; None while the database is down."""

    def __init__(self, store_url: str) -> None:
        self.store_url = store_url
        self.is_postgres = store_url.startswith(("postgresql://", "postgres://"))

    def _query(self, sql: str) -> list[tuple[Any, ...]]:
        if self.is_postgres:
            with psycopg.connect(self.store_url, connect_timeout=3) as conn:
                return list(conn.execute(sql).fetchall())
        lite = sqlite3.connect(f"file:{self.store_url}?mode=ro", uri=True, timeout=10)
        try:
            return lite.execute(sql).fetchall()
        finally:
            lite.close()

    def query(self, sql: str) -> list[tuple[Any, ...]] | None:
        try:
            return self._query(sql)
        except (sqlite3.Error, psycopg.Error, OSError):
            return None

    def applied(self) -> int | None:
        """How many source messages (facts and commands) the store has accepted so far."""
        rows = self.query("SELECT COUNT(*) FROM source_facts")
        return int(rows[0][0]) if rows else None

    def progress(self) -> Progress | None:
        try:
            positions = {k: int(v) for k, v in self._query(
                "SELECT key, next_offset FROM kafka_positions")}
            unsent = int(self._query("SELECT COUNT(*) FROM outbox WHERE sent = 0")[0][0])
            source_rows = int(self._query("SELECT COUNT(*) FROM source_facts")[0][0])
            accepted = {r[0] for r in self._query(
                "SELECT DISTINCT event_id FROM source_facts WHERE kind = 'fact'")}
            dead = self._query("SELECT event_id FROM dead_letters")
            commands = int(self._query(
                "SELECT COUNT(DISTINCT event_id) FROM source_facts WHERE kind = 'command'")[0][0])
            undecided = int(self._query("SELECT COUNT(*) FROM referral_claims")[0][0])
        except (sqlite3.Error, psycopg.Error, OSError):
            return None
        return Progress(positions, unsent, source_rows, accepted,
                        {r[0] for r in dead if r[0] is not None}, len(dead), commands, undecided)


@dataclass
class Outcome:
    """The final state of one deployment, swept to the same engine time as the reference."""

    ledger: MemberLedger
    event_counts: Counter[str]
    rules: Counter[str]
    violations: list[str] = field(default_factory=list)
    redemptions: dict[tuple[str, str], list[tuple[int, str]]] = field(default_factory=dict)
    dead_letters: list[tuple[str, str]] = field(default_factory=list)  # (reason, payload b64)

    @property
    def members(self) -> int:
        return len(self.ledger)


def final_outcome(settings: Settings, sweep_to: datetime) -> Outcome:
    """Sweep every member to ``sweep_to`` (activations, expiries, reviews due by then), bring the
    read models up to date, and read the ledger from the balance projection; cross-check it
    against the member aggregates and scan every stored event for the invariants."""
    store = open_store(settings)
    try:
        sweep(store, sweep_to)
        catch_up_all(store)
        rows = store.sql.query("SELECT customer_id, " + ", ".join(FIELDS) + " FROM balances")
        ledger = {r["customer_id"]: tuple(r[f] for f in FIELDS) for r in rows}
        outcome = _scan(store, ledger)
        outcome.ledger = ledger
        for customer_id, expected in ledger.items():
            member = store.get_member(customer_id)
            actual = None if member is None else tuple(getattr(member, f) for f in FIELDS)
            if actual != expected:
                outcome.violations.append(
                    f"{customer_id}: projection {expected} but aggregate {actual}")
        outcome.dead_letters = [(r["reason"], r["payload"]) for r in store.sql.query(
            "SELECT reason, payload FROM dead_letters")]
        for row in store.sql.query(
                "SELECT kind, event_id, COUNT(*) AS n FROM source_facts "
                "WHERE from_version IS NOT NULL AND kind IN ('fact', 'command') "
                "GROUP BY kind, event_id HAVING COUNT(*) > 1"):
            outcome.violations.append(f"{row['kind']} {row['event_id']} changed members "
                                      f"{row['n']} times (applied more than once)")
    finally:
        store.close()
    return outcome


def _scan(store: Any, ledger: MemberLedger) -> Outcome:
    counts: Counter[str] = Counter()
    rules: Counter[str] = Counter()
    violations: list[str] = []
    rows: dict[str, dict[str, Any]] = {}
    lots: dict[str, set[str]] = defaultdict(set)
    redemptions: dict[tuple[str, str], list[tuple[int, str]]] = defaultdict(list)
    position = 0
    while True:
        page = store.notifications(position, 5000)
        if not page:
            break
        position = page[-1].id
        for notification in page:
            event = store.decode(notification)
            if not is_member_event(event):
                continue
            kind, key, fields = type(event).__name__, event.originator_id.hex, event_fields(event)
            counts[kind] += 1
            row = rows[key] = fold(rows.get(key), kind, event.timestamp, fields)
            who = row["customer_id"]
            if kind == "PointsEarned":
                rules[fields["rule"]] += 1
                if fields["lot_id"] in lots[key]:
                    violations.append(f"{who}: lot {fields['lot_id']} awarded twice")
                lots[key].add(fields["lot_id"])
            elif kind == "PointsRedeemed":
                redemptions[(who, fields["request_id"])].append(
                    (fields["points"], fields["coupon"]))
            if row["available"] < 0 or row["pending"] < 0:
                violations.append(f"{who} v{event.originator_version}: negative balance "
                                  f"(available {row['available']}, pending {row['pending']})")
            books = (row["lifetime_earned"] - row["redeemed"] - row["reversed"]
                     - row["expired"])
            if books != row["available"] + row["pending"]:
                violations.append(f"{who} v{event.originator_version}: books do not balance")
    for key, row in rows.items():
        if row["customer_id"] not in ledger:
            violations.append(f"{row['customer_id']}: member events but no balance row")
    for (who, request_id), spent in redemptions.items():
        if len(spent) > 1:
            violations.append(f"{who}: redemption {request_id} spent {len(spent)} times")
    return Outcome({}, counts, rules, violations, dict(redemptions))


def mismatches(expected: MemberLedger, actual: MemberLedger) -> list[str]:
    """Members whose ledger differs (or who are missing or extra), one line each."""
    found = []
    for customer_id in sorted(expected.keys() | actual.keys()):
        want, got = expected.get(customer_id), actual.get(customer_id)
        if want != got:
            found.append(f"{customer_id}: expected {_show(want)}, got {_show(got)}")
    return found


def _show(values: tuple[Any, ...] | None) -> str:
    if values is None:
        return "(no member)"
    return ", ".join(f"{name}={value}" for name, value in zip(FIELDS, values))
