"""Fold Member events into points lots (pure): what each award has left, and when it expires.

The lot-level view is what "expiring within 30 days" needs; it agrees with the Member's own
lots (``remaining`` and ``expires_at``) at every version. Times are fixed-width UTC text.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from engine.projections.support import ts

LOT_EVENTS = frozenset({"PointsEarned", "PointsActivated", "PointsReversed", "PointsRedeemed",
                        "PointsExpired"})
ACTIVE = "active"


def new_lot(fields: Mapping[str, Any], at: datetime) -> dict[str, Any]:
    return {
        "lot_id": fields["lot_id"], "rule": fields["rule"], "points": fields["points"],
        "remaining": fields["points"], "expired": 0, "status": fields["status"],
        "earned_at": ts(at), "expires_at": ts(fields.get("expires_at")), "warned": 0,
    }


def lots_touched(event_type: str, fields: Mapping[str, Any]) -> list[str]:
    """The ids of existing lots an event changes (a new lot is not among them)."""
    if event_type in ("PointsActivated", "PointsExpired"):
        return [fields["lot_id"]]
    if event_type == "PointsReversed":
        return [fields["lot_id"], *(pair[0] for pair in fields["lots"])]
    if event_type == "PointsRedeemed":
        return [pair[0] for pair in fields["lots"]]
    return []


def fold_lots(lots: dict[str, dict[str, Any]], event_type: str, timestamp: datetime,
              fields: Mapping[str, Any]) -> set[str]:
    """Apply one event to a member's lots (``lot_id -> lot``, changed in place); returns the
    ids of the lots it changed. Events that do not move lots change nothing."""
    if event_type == "PointsEarned":
        lots[fields["lot_id"]] = new_lot(fields, timestamp)
        return {fields["lot_id"]}
    if event_type == "PointsActivated":
        lot = lots[fields["lot_id"]]
        lot["status"] = ACTIVE
        lot["expires_at"] = ts(fields["expires_at"])
        return {fields["lot_id"]}
    if event_type == "PointsReversed":
        lot = lots[fields["lot_id"]]
        if fields["pending"]:
            lot["remaining"] -= fields["pending"]
            if lot["remaining"] == 0:
                lot["status"] = "cancelled"
        for taken_id, taken in fields["lots"]:
            lots[taken_id]["remaining"] -= taken
        return {fields["lot_id"], *(pair[0] for pair in fields["lots"])}
    if event_type == "PointsRedeemed":
        for taken_id, taken in fields["lots"]:
            lots[taken_id]["remaining"] -= taken
        return {pair[0] for pair in fields["lots"]}
    if event_type == "PointsExpired":
        lot = lots[fields["lot_id"]]
        lot["remaining"] -= fields["points"]
        lot["expired"] += fields["points"]
        return {fields["lot_id"]}
    return set()


def expiring_within(lots: Iterable[Mapping[str, Any]], now: datetime,
                    days: int = 30) -> tuple[int, str | None]:
    """Points of active lots expiring by ``now + days`` and the soonest such date; lots past
    due but not yet swept count too (as ``Member.view`` counts them)."""
    horizon = ts(now + timedelta(days=days)) or ""
    points, soonest = 0, None
    for lot in lots:
        expires = lot["expires_at"]
        if lot["status"] != ACTIVE or lot["remaining"] <= 0 or expires is None or expires > horizon:
            continue
        points += lot["remaining"]
        if soonest is None or expires < soonest:
            soonest = expires
    return points, soonest
