"""The churn-risk read model: one row per member with its purchase statistics and its RFM grade
at the projection's engine time (``churn_fold`` holds the scoring).

Grades move with time alone (a member who stops buying drifts to ``at_risk``), so after each
page the rows whose ``regrade_at`` has passed are graded again; those are the only ones whose
grade can have changed without an event. A member becoming ``at_risk`` is announced once on
``loyalty.member-events`` (id from its ``at_risk_from``), also when the spell began and ended
between two pages.

The program (churn windows, tier thresholds) is the version in force at each event's time,
among the versions published earlier in the log: the projection keeps the program texts it
has seen, so a replay reads every event under the same program as the first run did.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson

from engine.aggregates.member import member_id
from engine.aggregates.program import ProgramCatalog
from engine.program.load import parse_program
from engine.program.model import Program, ProgramBook
from engine.projections import member_events
from engine.projections.churn_fold import (
    GRADES,
    at_risk_from,
    fold_stats,
    grade,
    moves_stats,
    recency,
    spell,
)
from engine.projections.records import Record
from engine.projections.support import (
    ENGINE_TIME,
    advance_engine_time,
    drop_meta,
    engine_time,
    execute_many,
    from_minor,
    money_text,
    read_meta,
    select_in,
    ts,
    write_meta,
)
from engine.store.app import LoyaltyStore

COLUMNS = ("member_id", "customer_id", "grade", "r_score", "f_score", "m_score", "orders",
           "spend_minor", "gap_days", "last_order_at", "at_risk_from", "regrade_at", "stats_json")
UPSERT = (
    "INSERT INTO churn (" + ", ".join(COLUMNS) + ") VALUES (" + ", ".join("?" for _ in COLUMNS)
    + ") ON CONFLICT (member_id) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in COLUMNS[1:])
)
PROGRAMS = "programs"
VERSION_PUBLISHED = ProgramCatalog.__qualname__ + ".VersionPublished"


class ChurnProjection:
    name = "churn"

    def __init__(self) -> None:
        self._parsed: dict[tuple[int, str, str], Program] = {}

    def apply_page(self, store: LoyaltyStore, cursor: Any, events: list[Record]) -> None:
        versions = orjson.loads(read_meta(store, self.name, PROGRAMS, cursor) or "[]")
        book = self._book(versions)
        # Only members whose statistics move are read and written again; the grade of any
        # other changes with time alone, and _regrade finds those that did.
        keys = {e.key for e in events if e.member and moves_stats(e.name, e.fields)}
        before = {r["member_id"]: r for r in select_in(
            store, cursor, "SELECT member_id, grade, stats_json FROM churn "
            "WHERE member_id IN ({keys})", keys)}
        stats = {key: orjson.loads(row["stats_json"]) for key, row in before.items()}
        notices: list[member_events.OutboxRow] = []
        published = False
        # The engine time before each event (the latest event time folded so far): a member
        # at risk by then is announced, whatever the page it falls in, so notices do not
        # depend on where pages end when facts arrive late.
        seen = read_meta(store, self.name, ENGINE_TIME, cursor) or ""
        for event in events:
            at, seen_before = event.at, seen
            seen = max(seen, at)
            if event.qualname == VERSION_PUBLISHED:
                fields = event.fields
                versions.append({"version": fields["version"], "text": fields["text"],
                                 "effective_from": fields["effective_from"]})
                book, published = self._book(versions), True
                continue
            if not event.member or not moves_stats(event.name, event.fields):
                continue
            key = event.key
            current = stats.get(key)
            if current is not None and seen_before > at_risk_from(current):
                notices.append(_notice(current["customer_id"], spell(current)))
            state, ended = fold_stats(current, event.name, event.timestamp,
                                      event.fields, book.in_force_at(event.timestamp))
            if state is None:
                continue
            stats[key] = state
            if ended is not None:
                notices.append(_notice(state["customer_id"], ended))
        if published:
            write_meta(store, cursor, self.name, PROGRAMS, orjson.dumps(versions).decode())
        now = advance_engine_time(store, cursor, self.name, events)
        if now is None:
            return
        rows = [_row(key, state, now) for key, state in stats.items()]
        notices += [_notice(r[1], spell(stats[r[0]])) for r in rows
                    if r[2] == "at_risk" and (r[0] not in before
                                              or before[r[0]]["grade"] != "at_risk")]
        notices += self._regrade(store, cursor, now, set(stats))
        execute_many(store, cursor, UPSERT, rows)
        member_events.write(store, cursor, notices)

    def _regrade(self, store: LoyaltyStore, cursor: Any, now: datetime,
                 skip: set[str]) -> list[member_events.OutboxRow]:
        """Grade again the rows whose grade the passing of time has changed."""
        # No ORDER BY: SQLite would then scan the whole table in key order instead of using
        # the churn_regrade index, on every page; the few rows due are sorted here.
        store.sql.execute(cursor, "SELECT member_id, grade, stats_json FROM churn "
                          "WHERE regrade_at < ?", (_text(now),))
        due = sorted((dict(r) for r in cursor.fetchall() if r["member_id"] not in skip),
                     key=lambda r: r["member_id"])
        rows, notices = [], []
        for old in due:
            state = orjson.loads(old["stats_json"])
            row = _row(old["member_id"], state, now)
            rows.append(row)
            if row[2] == "at_risk" and old["grade"] != "at_risk":
                notices.append(_notice(row[1], spell(state)))
        execute_many(store, cursor, UPSERT, rows)
        return notices

    def _book(self, versions: list[dict[str, Any]]) -> ProgramBook:
        programs = []
        for v in versions:
            key = (v["version"], v["effective_from"], v["text"])
            if key not in self._parsed:
                self._parsed[key] = parse_program(
                    v["text"], version=v["version"],
                    effective_from=datetime.fromisoformat(v["effective_from"]))
            programs.append(self._parsed[key])
        return ProgramBook(programs)

    def reset(self, store: LoyaltyStore, cursor: Any) -> None:
        store.sql.execute(cursor, "DELETE FROM churn")
        drop_meta(store, cursor, self.name)


def _text(now: datetime) -> str:
    return ts(now) or ""


def _row(key: str, stats: dict[str, Any], now: datetime) -> tuple[Any, ...]:
    scored = grade(stats, now)
    return (key, stats["customer_id"], scored["grade"], scored["r_score"], scored["f_score"],
            scored["m_score"], stats["orders"], stats["spend_minor"], stats["gap_days"],
            stats["last_order_at"], scored["at_risk_from"], scored["regrade_at"],
            orjson.dumps(stats).decode())


def _notice(customer_id: str, ended: dict[str, Any]) -> member_events.OutboxRow:
    return member_events.at_risk(customer_id, ended["at_risk_from"], ended["last_order_at"],
                                 ended["gap_days"], ended["orders"])


def read_member_churn(store: LoyaltyStore, customer_id: str) -> dict[str, Any] | None:
    rows = store.sql.query("SELECT * FROM churn WHERE member_id = ?",
                           (member_id(customer_id).hex,))
    return rows[0] if rows else None


def grade_counts(store: LoyaltyStore) -> dict[str, int]:
    """Members per churn grade, every grade listed (at the projection's engine time)."""
    counts = {r["grade"]: int(r["n"]) for r in store.sql.query(
        "SELECT grade, COUNT(*) AS n FROM churn GROUP BY grade")}
    return {name: counts.get(name, 0) for name in GRADES}


def churn_segment(store: LoyaltyStore, grade_name: str, after: str | None = None,
                  limit: int = 100) -> dict[str, Any]:
    """One page of the members of a grade, by customer id after ``after``; ``next`` is the
    ``after`` of the following page (None on the last)."""
    now = engine_time(store, ChurnProjection.name)
    rows = store.sql.query(
        "SELECT customer_id, grade, r_score, f_score, m_score, orders, spend_minor, gap_days, "
        "last_order_at, at_risk_from, stats_json FROM churn WHERE grade = ? AND customer_id > ? "
        "ORDER BY customer_id LIMIT ?", (grade_name, after or "", limit + 1))
    items = []
    for row in rows[:limit]:
        stats = orjson.loads(row.pop("stats_json"))
        item = {**row, "spend": money_text(from_minor(int(row.pop("spend_minor"))))}
        item.update(recency(stats, now) if now is not None else {})
        items.append(item)
    return {"grade": grade_name, "engine_time": ts(now), "items": items,
            "total": grade_counts(store)[grade_name],
            "next": items[-1]["customer_id"] if len(rows) > limit else None}
