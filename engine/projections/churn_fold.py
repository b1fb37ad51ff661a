"""Churn risk (RFM), pure: fold a member's events into purchase statistics, and grade them at a
given time. The README ("Churn risk") states the same scoring in words; keep the two in step.

Statistics (folded; ``program`` is the version in force at the event's time):

- ``gap_days``: the expected days between purchases, the churn window of the member's dominant
  category (the category in most of their orders; ties go to the shorter window, then to the
  name); the program's default window before the first order.
- ``f_score`` (frequency): with n orders between the first and the last order, spanning s days,
  the regularity is f = (n - 1) / max(1, s / gap_days), the share of the expected repeat
  purchases made. F = 3 when n >= 3 and f >= 0.75; 2 when n >= 2 and f >= 0.35; else 1.
- ``m_score`` (monetary): qualifying points (spend in the rolling tier window) against the
  program's tiers: 3 from the third tier's threshold (gold), 2 from the second's (silver),
  else 1.

Grading at time ``now`` (recency): the anchor is the last order (the enrolment when there is
none); r = days since the anchor / gap_days. R = 3 when r <= 1, 2 when r <= 2, else 1. Then:
R = 1 is ``at_risk``; R = 3, F = 3 and M = 3 is ``champion``; F + M >= 4 is ``loyal``; anything
else is ``regular``. Only R depends on ``now``, and it changes only at ``anchor + gap_days``
and ``anchor + 2 * gap_days`` (``regrade_at``).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from engine.program.model import Program
from engine.projections.support import to_minor, ts

GRADES = ("champion", "loyal", "regular", "at_risk")
F_HIGH, F_LOW = 0.75, 0.35


def new_stats(customer_id: str, enrolled_at: datetime, program: Program) -> dict[str, Any]:
    return {
        "customer_id": customer_id, "enrolled_at": ts(enrolled_at), "orders": 0,
        "first_order_at": None, "last_order_at": None, "categories": {}, "spend_minor": 0,
        "qualifying": 0, "gap_days": program.churn_default_days, "f_score": 1, "m_score": 1,
    }


STATS_EVENTS = frozenset({"Enrolled", "OrderPlaced", "OrderRefunded", "QualifyingPointsLapsed"})
QUALIFYING_EVENTS = frozenset({"PointsEarned", "PointsReversed"})


def moves_stats(event_type: str, fields: dict[str, Any]) -> bool:
    """Whether ``fold_stats`` changes anything on this event; on any other, a member's
    statistics, and so its grade at every time, stay as they are."""
    return event_type in STATS_EVENTS or (event_type in QUALIFYING_EVENTS
                                          and bool(fields.get("qualifying")))


def fold_stats(stats: dict[str, Any] | None, event_type: str, timestamp: datetime,
               fields: dict[str, Any], program: Program) -> tuple[dict[str, Any] | None,
                                                                   dict[str, Any] | None]:
    """(the statistics after one event (changed in place), the ``spell`` this event ends or
    None). An order placed after the member's ``at_risk_from`` ends a spell in which the member
    was at risk."""
    if event_type == "Enrolled":
        return new_stats(fields["customer_id"], timestamp, program), None
    if stats is None:
        return None, None
    ended = None
    if event_type == "OrderPlaced":
        if ts(timestamp) > at_risk_from(stats):  # type: ignore[operator]
            ended = spell(stats)
        _order(stats, timestamp, fields, program)
    elif event_type == "OrderRefunded":
        stats["spend_minor"] -= to_minor(fields["amount"])
    elif event_type == "PointsEarned" and fields.get("qualifying"):
        _qualify(stats, fields["qualifying"], program)
    elif event_type == "PointsReversed" and fields.get("qualifying"):
        _qualify(stats, -fields["qualifying"], program)
    elif event_type == "QualifyingPointsLapsed":
        _qualify(stats, -fields["points"], program)
    return stats, ended


def _order(stats: dict[str, Any], at: datetime, fields: dict[str, Any], program: Program) -> None:
    when = ts(at)
    stats["orders"] += 1
    stats["first_order_at"] = stats["first_order_at"] or when
    if stats["last_order_at"] is None or when > stats["last_order_at"]:  # type: ignore[operator]
        stats["last_order_at"] = when
    counts = stats["categories"]
    for category in fields.get("categories") or ():
        counts[category] = counts.get(category, 0) + 1
    stats["spend_minor"] += to_minor(fields["total"])
    stats["gap_days"] = expected_gap(counts, program)
    stats["f_score"] = frequency_score(stats["orders"], stats["first_order_at"],
                                       stats["last_order_at"], stats["gap_days"])


def _qualify(stats: dict[str, Any], points: int, program: Program) -> None:
    stats["qualifying"] += points
    stats["m_score"] = monetary_score(stats["qualifying"], program)


def expected_gap(category_orders: dict[str, int], program: Program) -> int:
    """The churn window of the dominant category (default window with no categories)."""
    if not category_orders:
        return program.churn_default_days
    dominant = min(category_orders, key=lambda c: (-category_orders[c],
                                                   program.churn_window_days(c), c))
    return program.churn_window_days(dominant)


def frequency_score(orders: int, first: str | None, last: str | None, gap_days: int) -> int:
    if orders < 2 or first is None or last is None:
        return 1
    span = (datetime.fromisoformat(last) - datetime.fromisoformat(first)) / timedelta(days=1)
    regularity = (orders - 1) / max(1.0, span / gap_days)
    if orders >= 3 and regularity >= F_HIGH:
        return 3
    return 2 if regularity >= F_LOW else 1


def monetary_score(qualifying: int, program: Program) -> int:
    tiers = program.tiers
    if len(tiers) > 2 and qualifying >= tiers[2].threshold:
        return 3
    if len(tiers) > 1 and qualifying >= tiers[1].threshold:
        return 2
    return 1


def anchor(stats: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(stats["last_order_at"] or stats["enrolled_at"])


def marks(stats: dict[str, Any]) -> tuple[str, str]:
    """(anchor + 1 gap, anchor + 2 gaps) as fixed-width UTC text: when R falls to 2 and to 1.
    Remembered by anchor and gap, since a member's marks move only with a new order and the
    fold asks for them at almost every event (formatting an aware time costs about 2 us)."""
    key = (stats["last_order_at"] or stats["enrolled_at"], stats["gap_days"])
    found = _MARKS.get(key)
    if found is None:
        if len(_MARKS) >= MARKS_CACHE:
            _MARKS.clear()
        found = _MARKS[key] = (_days_after(key[0], key[1]), _days_after(key[0], 2 * key[1]))
    return found


def _days_after(text: str, days: int) -> str:
    """``ts(datetime.fromisoformat(text) + timedelta(days=days))``. Whole days move only the
    date of a fixed-width UTC text, and the dates are few, so the new date is remembered."""
    if len(text) != 32 or not text.endswith("+00:00"):
        return ts(datetime.fromisoformat(text) + timedelta(days=days)) or ""
    day = _DAYS.get((text[:10], days))
    if day is None:
        if len(_DAYS) >= MARKS_CACHE:
            _DAYS.clear()
        day = _DAYS[(text[:10], days)] = (date.fromisoformat(text[:10])
                                          + timedelta(days=days)).isoformat()
    return day + text[10:]


MARKS_CACHE = 1 << 16
_MARKS: dict[tuple[str, int], tuple[str, str]] = {}
_DAYS: dict[tuple[str, int], str] = {}


def at_risk_from(stats: dict[str, Any]) -> str:
    """When the member becomes at risk if nothing is bought before (anchor + 2 gaps)."""
    return marks(stats)[1]


def spell(stats: dict[str, Any]) -> dict[str, Any]:
    """What an at-risk announcement says: when the spell starts and what it follows."""
    return {"at_risk_from": at_risk_from(stats), "last_order_at": stats["last_order_at"],
            "gap_days": stats["gap_days"], "orders": stats["orders"]}


def grade(stats: dict[str, Any], now: datetime) -> dict[str, Any]:
    """The grade at ``now``: scores, grade, and ``regrade_at`` (when R next changes, None when
    it cannot change without a new order)."""
    first, second = marks(stats)
    at = ts(now) or ""  # fixed-width UTC texts compare as the times do
    if at <= first:
        r_score, regrade_at = 3, first
    elif at <= second:
        r_score, regrade_at = 2, second
    else:
        r_score, regrade_at = 1, None
    f_score, m_score = stats["f_score"], stats["m_score"]
    if r_score == 1:
        name = "at_risk"
    elif r_score == 3 and f_score == 3 and m_score == 3:
        name = "champion"
    elif f_score + m_score >= 4:
        name = "loyal"
    else:
        name = "regular"
    return {"grade": name, "r_score": r_score, "f_score": f_score, "m_score": m_score,
            "regrade_at": regrade_at, "at_risk_from": second}


def recency(stats: dict[str, Any], now: datetime) -> dict[str, float]:
    """Days since the anchor and their ratio to the expected gap, at ``now`` (for reading)."""
    days = max(0.0, (now - anchor(stats)) / timedelta(days=1))
    return {"recency_days": round(days, 2), "recency_ratio": round(days / stats["gap_days"], 3)}
