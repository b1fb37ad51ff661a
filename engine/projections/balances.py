"""The balance read model: one row per member (the pure ``balance_fold.fold``) and one row per
points lot (the pure ``lots_fold.fold_lots``), which "expiring within 30 days" is read from.

Outbound events it observes: a reward redeemed (per ``PointsRedeemed``) and points expiring
within ``EXPIRY_NOTICE_DAYS`` (once per lot, when the projection's engine time first comes
within that many days of the lot's expiry while the lot still has points left).
"""

from __future__ import annotations

import heapq
from datetime import datetime, timedelta
from functools import cache
from operator import itemgetter
from typing import Any

import orjson

from engine.aggregates.member import Member, member_id
from engine.projections import member_events
from engine.projections.balance_fold import fold
from engine.projections.lots_fold import ACTIVE, fold_lots, lots_touched
from engine.projections.records import Record
from engine.projections.support import (
    ENGINE_TIME,
    drop_meta,
    execute_many,
    read_meta,
    select_in,
    ts,
    write_meta,
)
from engine.store.app import LoyaltyStore

COLUMNS = (
    "customer_id", "available", "pending", "lifetime_earned", "redeemed", "reversed",
    "expired", "tier", "qualifying_points", "last_activity",
)
UPSERT = (
    "INSERT INTO balances (member_id, " + ", ".join(COLUMNS) + ", row_json) VALUES ("
    + ", ".join("?" for _ in range(len(COLUMNS) + 2))
    + ") ON CONFLICT (member_id) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in (*COLUMNS, "row_json"))
)
LOT_COLUMNS = ("lot_key", "member_id", "customer_id", "lot_id", "rule", "points", "remaining",
               "expired", "status", "earned_at", "expires_at", "warned")
UPSERT_LOT = (
    "INSERT INTO lots (" + ", ".join(LOT_COLUMNS) + ") VALUES ("
    + ", ".join("?" for _ in LOT_COLUMNS) + ") ON CONFLICT (lot_key) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in ("remaining", "expired", "status", "expires_at",
                                                "warned"))
)


def is_member_event(event: Any) -> bool:
    return _is_member_class(type(event).__qualname__)


@cache
def _is_member_class(qualname: str) -> bool:
    return qualname.startswith(Member.__qualname__ + ".")


class BalanceProjection:
    name = "balances"

    def apply_page(self, store: LoyaltyStore, cursor: Any, events: list[Record]) -> None:
        page = [(e, e.name, e.key, e.fields) if e.member else (e, "", "", {}) for e in events]
        rows = load_rows(store, cursor, {key for _, kind, key, _ in page if kind})
        lots = _load_lots(store, cursor, page)
        stored = read_meta(store, self.name, ENGINE_TIME, cursor)
        now = datetime.fromisoformat(stored) if stored else None
        end = max((e.timestamp for e in events), default=now)
        if now is not None and end is not None and end < now:
            end = now
        notices = Notices(lots, end)
        if end is not None:
            notices.load(store, cursor, now)
        outbound: list[member_events.OutboxRow] = []
        for event, kind, key, fields in page:
            if now is None or event.timestamp > now:
                now = event.timestamp
            if not kind:  # not a member's event: it only moves engine time
                outbound.extend(notices.due(now, rows))
                continue
            row = rows[key] = fold(rows.get(key), kind, event.timestamp, fields)
            changed = fold_lots(lots.setdefault(key, {}), kind, event.timestamp, fields)
            notices.dirty.update((key, lot_id) for lot_id in changed)
            notices.watch(key, changed)
            if kind == "PointsRedeemed":
                outbound.append(member_events.reward_redeemed(row["customer_id"],
                                                              event.timestamp, fields))
            outbound.extend(notices.due(now, rows))
        execute_many(store, cursor, UPSERT, [
            (key, *_FIGURES(row), _cell(row["last_activity"]), orjson.dumps(row).decode())
            for key, row in rows.items() if row is not None])
        execute_many(store, cursor, UPSERT_LOT, [
            (f"{key}:{lot_id}", key, rows[key]["customer_id"] if key in rows
             else lots[key][lot_id]["customer_id"], *_LOT_CELLS(lots[key][lot_id]))
            for key, lot_id in sorted(notices.dirty)])
        if end is not None and ts(end) != stored:
            write_meta(store, cursor, self.name, ENGINE_TIME, ts(end) or "")
        member_events.write(store, cursor, outbound)

    def reset(self, store: LoyaltyStore, cursor: Any) -> None:
        store.sql.execute(cursor, "DELETE FROM balances")
        store.sql.execute(cursor, "DELETE FROM lots")
        drop_meta(store, cursor, self.name)


class Notices:
    """The "points expiring within N days" notices of one page, decided event by event (so
    that any split of the log into pages announces the same lots): a lot is announced once,
    at the first event whose engine time is within N days of its expiry, when it still has
    points left and has not expired."""

    def __init__(self, lots: dict[str, dict[str, Any]], end: datetime | None) -> None:
        self.lots = lots
        self.days = timedelta(days=member_events.EXPIRY_NOTICE_DAYS)
        self.horizon = ts(end + self.days) if end is not None else None
        self.heap: list[tuple[datetime, str, str]] = []
        self.dirty: set[tuple[str, str]] = set()

    def load(self, store: LoyaltyStore, cursor: Any, start: datetime | None) -> None:
        """The stored lots whose notice time can fall inside this page."""
        store.sql.execute(
            cursor,
            "SELECT * FROM lots WHERE warned = 0 AND expires_at > ? AND expires_at <= ? "
            "AND status = 'active' AND remaining > 0",
            (ts(start) if start is not None else "", self.horizon))
        for row in cursor.fetchall():
            mine = self.lots.setdefault(row["member_id"], {})
            if row["lot_id"] not in mine:
                mine[row["lot_id"]] = {c: row[c] for c in LOT_COLUMNS[2:]}
            self.watch(row["member_id"], {row["lot_id"]})

    def watch(self, key: str, lot_ids: set[str]) -> None:
        for lot_id in lot_ids:
            lot = self.lots[key][lot_id]
            expires = lot["expires_at"]
            if (not lot["warned"] and expires is not None and self.horizon is not None
                    and expires <= self.horizon):
                heapq.heappush(self.heap, (datetime.fromisoformat(expires) - self.days, key,
                                           lot_id))

    def due(self, now: datetime, rows: dict[str, Any]) -> list[member_events.OutboxRow]:
        found = []
        while self.heap and self.heap[0][0] <= now:
            _, key, lot_id = heapq.heappop(self.heap)
            lot = self.lots[key][lot_id]
            if (lot["warned"] or lot["status"] != ACTIVE or lot["remaining"] <= 0
                    or datetime.fromisoformat(lot["expires_at"]) <= now):
                continue
            lot["warned"] = 1
            self.dirty.add((key, lot_id))
            customer_id = rows[key]["customer_id"] if key in rows else lot["customer_id"]
            found.append(member_events.points_expiring(
                customer_id, lot_id, lot["remaining"], lot["expires_at"], self.days.days))
        return found


def _cell(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


# A balance row's cells but the last (``last_activity``, a datetime until the row is read back
# from JSON), and a lot's cells after its key, member and customer (``fold_lots`` keeps
# every one of them).
_FIGURES = itemgetter(*COLUMNS[:-1])
_LOT_CELLS = itemgetter(*LOT_COLUMNS[3:])


def _load_lots(store: LoyaltyStore, cursor: Any,
               page: list[tuple[Any, str, str, dict[str, Any]]]) -> dict[str, dict[str, Any]]:
    """The stored lots this page changes but did not create, by member and lot id."""
    created, wanted = set(), set()
    for _, kind, key, fields in page:
        if kind == "PointsEarned":
            created.add(f"{key}:{fields['lot_id']}")
        for lot_id in lots_touched(kind, fields):
            wanted.add(f"{key}:{lot_id}")
    lots: dict[str, dict[str, Any]] = {}
    sql = "SELECT * FROM lots WHERE lot_key IN ({keys})"
    for row in select_in(store, cursor, sql, wanted - created):
        lots.setdefault(row["member_id"], {})[row["lot_id"]] = {
            c: row[c] for c in LOT_COLUMNS[2:]}
    return lots


def load_rows(store: LoyaltyStore, cursor: Any, keys: set[str]) -> dict[str, Any]:
    """The stored balance rows of these members (missing members are absent)."""
    sql = "SELECT member_id, row_json FROM balances WHERE member_id IN ({keys})"
    return {r["member_id"]: orjson.loads(r["row_json"]) for r in select_in(store, cursor, sql,
                                                                            keys)}


def load_row(store: LoyaltyStore, cursor: Any, key: str) -> dict[str, Any] | None:
    return load_rows(store, cursor, {key}).get(key)


def read_balance(store: LoyaltyStore, customer_id: str) -> dict[str, Any] | None:
    rows = store.sql.query(
        "SELECT row_json FROM balances WHERE member_id = ?", (member_id(customer_id).hex,)
    )
    return orjson.loads(rows[0]["row_json"]) if rows else None


def read_lots(store: LoyaltyStore, customer_id: str) -> list[dict[str, Any]]:
    """A member's lots as the projection holds them, soonest expiry first."""
    return store.sql.query(
        "SELECT " + ", ".join(LOT_COLUMNS[3:]) + " FROM lots WHERE member_id = ? "
        "ORDER BY expires_at, lot_id", (member_id(customer_id).hex,))


def top_balances(store: LoyaltyStore, limit: int = 10) -> list[dict[str, Any]]:
    rows = store.sql.query(
        "SELECT row_json FROM balances ORDER BY available DESC, customer_id LIMIT ?", (limit,)
    )
    return [orjson.loads(r["row_json"]) for r in rows]
