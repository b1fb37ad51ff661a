"""The program-metrics read model: monthly counters (``metrics_months``) and per member and
month activity (``member_months``, for the distinct buyers, returning buyers and active members
of any period). ``metrics_fold`` holds the folding and the formulas."""

from __future__ import annotations

from typing import Any

from engine.program.model import Program
from engine.projections.metrics_fold import (
    MEMBER_COUNTERS,
    MONTH_COUNTERS,
    MemberMonths,
    Months,
    figures,
    fold_metrics,
    liability_delta,
    point_value,
)
from engine.projections.records import Record
from engine.projections.support import advance_engine_time, drop_meta, execute_many
from engine.store.app import LoyaltyStore


def _adding(table: str, keys: tuple[str, ...], counters: tuple[str, ...]) -> str:
    columns = (*keys, *counters)
    return (f"INSERT INTO {table} ({', '.join(columns)}) VALUES "
            f"({', '.join('?' for _ in columns)}) ON CONFLICT ({', '.join(keys)}) DO UPDATE SET "
            + ", ".join(f"{c} = {table}.{c} + excluded.{c}" for c in counters))


ADD_MONTH = _adding("metrics_months", ("month",), MONTH_COUNTERS)
ADD_MEMBER_MONTH = _adding("member_months", ("month", "member_id"), MEMBER_COUNTERS)
DISTINCT = """
WITH firsts AS (
    SELECT member_id, MIN(month) AS first_month FROM member_months WHERE orders > 0
    GROUP BY member_id)
SELECT {group} COUNT(DISTINCT m.member_id) AS active,
    COUNT(DISTINCT CASE WHEN m.orders > 0 THEN m.member_id END) AS buyers,
    COUNT(DISTINCT CASE WHEN m.orders > 1 OR (m.orders > 0 AND m.month > f.first_month)
                   THEN m.member_id END) AS repeaters
FROM member_months m LEFT JOIN firsts f ON f.member_id = m.member_id
WHERE m.month >= ? AND m.month <= ? AND m.activity > 0 {group_by}
"""


class MetricsProjection:
    name = "metrics"

    def apply_page(self, store: LoyaltyStore, cursor: Any, events: list[Record]) -> None:
        months: Months = {}
        members: MemberMonths = {}
        for event in events:
            if event.member:
                fold_metrics(months, members, event.key, event.name, event.timestamp,
                             event.fields)
        execute_many(store, cursor, ADD_MONTH, [
            (month, *(row[c] for c in MONTH_COUNTERS)) for month, row in sorted(months.items())])
        execute_many(store, cursor, ADD_MEMBER_MONTH, [
            (*key, *(row[c] for c in MEMBER_COUNTERS)) for key, row in sorted(members.items())])
        advance_engine_time(store, cursor, self.name, events)

    def reset(self, store: LoyaltyStore, cursor: Any) -> None:
        store.sql.execute(cursor, "DELETE FROM metrics_months")
        store.sql.execute(cursor, "DELETE FROM member_months")
        drop_meta(store, cursor, self.name)


def month_span(store: LoyaltyStore) -> tuple[str, str] | None:
    """The first and last month with any counter (None before any event)."""
    rows = store.sql.query("SELECT MIN(month) AS lo, MAX(month) AS hi FROM metrics_months")
    return (rows[0]["lo"], rows[0]["hi"]) if rows and rows[0]["lo"] else None


def program_metrics(store: LoyaltyStore, program: Program, start: str | None = None,
                    end: str | None = None, by_month: bool = True) -> dict[str, Any]:
    """The metrics of the months ``start``..``end`` (``YYYY-MM``, inclusive; default: every
    month with data) overall and, with ``by_month``, per month. Liability is what members hold
    at the end of the period (and of each month); its money value uses ``program``'s catalog."""
    span = month_span(store)
    start = start or (span[0] if span else "0000-00")
    end = end or (span[1] if span else "9999-99")
    rows = {r["month"]: {c: int(r[c]) for c in MONTH_COUNTERS}
            for r in store.sql.query("SELECT * FROM metrics_months ORDER BY month")}
    held, liability = 0, {}
    for month in sorted(rows):
        held += liability_delta(rows[month])
        liability[month] = held
    value = point_value(program)
    inside = [m for m in sorted(rows) if start <= m <= end]
    overall_distinct = store.sql.query(DISTINCT.format(group="", group_by=""), (start, end))[0]
    up_to_end = [m for m in liability if m <= end]
    at_end = liability[max(up_to_end)] if up_to_end else 0
    result: dict[str, Any] = {
        "from": start, "to": end, "currency": program.currency,
        "point_value": str(value) if value is not None else None,
        "overall": figures(_sum(rows[m] for m in inside), **_distinct(overall_distinct),
                           liability_points=at_end, value_per_point=value),
    }
    if by_month:
        per = {r["month"]: r for r in store.sql.query(
            DISTINCT.format(group="m.month AS month,", group_by="GROUP BY m.month"),
            (start, end))}
        result["months"] = [
            {"month": m, **figures(rows[m], **_distinct(per.get(m)),
                                   liability_points=liability[m], value_per_point=value)}
            for m in inside]
    return result


def _sum(rows: Any) -> dict[str, int]:
    total = dict.fromkeys(MONTH_COUNTERS, 0)
    for row in rows:
        for name in MONTH_COUNTERS:
            total[name] += row[name]
    return total


def _distinct(row: dict[str, Any] | None) -> dict[str, int]:
    if row is None:
        return {"buyers": 0, "returning": 0, "active": 0}
    return {"buyers": int(row["buyers"]), "returning": int(row["repeaters"]),
            "active": int(row["active"])}
