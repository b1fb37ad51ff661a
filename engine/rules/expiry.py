"""Expiry rule: active points expire a fixed period after they became active; only the unspent
rest of a lot expires. Lots are spent soonest-expiring first (see redemptions)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from engine.program.model import Program

EXPIRING_SOON_DAYS = 30


def expires_at(activated_at: datetime, program: Program) -> datetime:
    """When a lot that became active at ``activated_at`` expires, under the award's program."""
    return activated_at + timedelta(days=program.expiry_days)


def expiring_within(
    queue: Iterable[list[Any]], lots: Mapping[str, Mapping[str, Any]], now: datetime,
    days: int = EXPIRING_SOON_DAYS,
) -> tuple[int, datetime | None]:
    """Points of active lots expiring by now + days, and the soonest such date (lots already
    past due but not yet swept count too).

    ``queue`` holds ``[expires_at, lot_id]`` entries (any order; spent lots are skipped)."""
    horizon = now + timedelta(days=days)
    points, soonest = 0, None
    for expires, lot_id in queue:
        remaining = lots[lot_id]["remaining"]
        if remaining <= 0 or expires > horizon:
            continue
        points += remaining
        if soonest is None or expires < soonest:
            soonest = expires
    return points, soonest
