"""Fold one stored Member event into a balance row (pure; the balances read model and
"balance as of T" both use it).

It agrees with ``Member.view()`` on every figure that does not depend on the reading time.
``last_activity`` is the latest time of a storefront fact about the member (not of
activations, expiries or commands from other members).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

LOWEST_TIER = "bronze"
ACTIVITY_EVENTS = frozenset({
    "OrderPlaced", "OrderRefunded", "Registered", "SurveyAnswered", "FactRecorded",
    "ReferralLinked",
})
ACTIVITY_RULES = frozenset({"review", "share"})


def empty_row(customer_id: str | None) -> dict[str, Any]:
    return {
        "customer_id": customer_id, "available": 0, "pending": 0, "lifetime_earned": 0,
        "redeemed": 0, "reversed": 0, "expired": 0, "shortfall": 0, "tier": LOWEST_TIER,
        "qualifying_points": 0, "last_activity": None,
    }


def fold(
    row: dict[str, Any] | None, event_type: str, timestamp: datetime, fields: dict[str, Any]
) -> dict[str, Any]:
    """The row after one event (a new dict; ``row`` is not changed). ``event_type`` is the
    event's class name, ``fields`` its attributes. Unknown event types change nothing but
    the row's existence."""
    new = empty_row(fields.get("customer_id")) if row is None else dict(row)
    if event_type == "PointsEarned":
        points = fields["points"]
        new["lifetime_earned"] += points
        new["pending" if fields["status"] == "pending" else "available"] += points
        new["qualifying_points"] += fields.get("qualifying") or 0
        if fields.get("rule") in ACTIVITY_RULES:
            _touch(new, timestamp)
    elif event_type == "PointsActivated":
        new["pending"] -= fields["points"]
        new["available"] += fields["points"]
    elif event_type == "PointsReversed":
        new["pending"] -= fields["pending"]
        new["available"] -= fields["active"]
        new["reversed"] += fields["pending"] + fields["active"]
        new["shortfall"] = new.get("shortfall", 0) + fields["shortfall"]
        new["qualifying_points"] -= fields["qualifying"]
    elif event_type == "PointsRedeemed":
        new["available"] -= fields["points"]
        new["redeemed"] += fields["points"]
    elif event_type == "PointsExpired":
        new["available"] -= fields["points"]
        new["expired"] += fields["points"]
    elif event_type == "QualifyingPointsLapsed":
        new["qualifying_points"] -= fields["points"]
    elif event_type == "TierChanged":
        new["tier"] = fields["to_tier"]
    elif event_type in ACTIVITY_EVENTS:
        _touch(new, timestamp)
    elif event_type == "ReferralRefused" and fields.get("stage") == "link":
        _touch(new, timestamp)
    return new


def _touch(row: dict[str, Any], at: datetime) -> None:
    last = row["last_activity"]
    if isinstance(last, str):  # a row read back from JSON
        last = datetime.fromisoformat(last)
    row["last_activity"] = at if last is None or at > last else last
