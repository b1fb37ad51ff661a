"""Tier movements, pure: each Member event as changes to the monthly tier flows.

A member enters the lowest tier when it enrols; a ``TierChanged`` leaves one tier and enters
another. An upgrade is a change caused by a fact (it names its ``source_event_id``); a change
without one is a yearly review, which only ever moves down. Members per tier at the end of a
month are the running sum of entries minus exits up to that month.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from engine.projections.balance_fold import LOWEST_TIER
from engine.projections.support import month_of

# (month, tier) -> [entered, exited, upgrades, downgrades]; upgrades and downgrades are counted
# on the tier moved to.
Flows = dict[tuple[str, str], list[int]]


def fold_flows(flows: Flows, event_type: str, timestamp: datetime,
               fields: dict[str, Any]) -> None:
    """Add one event's tier movements to ``flows`` (changed in place)."""
    if event_type == "Enrolled":
        _add(flows, month_of(timestamp), LOWEST_TIER, (1, 0, 0, 0))
    elif event_type == "TierChanged":
        month = month_of(timestamp)
        upgrade = fields.get("source_event_id") is not None
        _add(flows, month, fields["to_tier"], (1, 0, int(upgrade), int(not upgrade)))
        _add(flows, month, fields["from_tier"], (0, 1, 0, 0))


def _add(flows: Flows, month: str, tier: str, delta: tuple[int, int, int, int]) -> None:
    cell = flows.setdefault((month, tier), [0, 0, 0, 0])
    for index, value in enumerate(delta):
        cell[index] += value


def members_over_time(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Monthly rows (``month, tier, entered, exited, upgrades, downgrades``) as one entry per
    month, oldest first: the members of each tier at the month's end and the month's moves."""
    by_month: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_month.setdefault(row["month"], []).append(row)
    running: dict[str, int] = {}
    result = []
    for month in sorted(by_month):
        upgrades = downgrades = 0
        for row in by_month[month]:
            running[row["tier"]] = running.get(row["tier"], 0) + row["entered"] - row["exited"]
            upgrades += row["upgrades"]
            downgrades += row["downgrades"]
        result.append({"month": month, "members": dict(running), "upgrades": upgrades,
                       "downgrades": downgrades})
    return result
