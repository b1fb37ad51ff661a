"""Refund rule: reverse points in proportion to the refunded share of the order, against the
original award (its lot, hence its program version), pending points first.

The share is cumulative (floor(points x refunded so far / total) minus what earlier refunds
reversed), so partial refunds never drift and a full refund reverses exactly the award. What
the order's own lot no longer holds is taken from the member's other active lots, soonest
expiring first; what already expired is not clawed back twice; the rest is a recorded
shortfall, so the balance never goes below zero.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_FLOOR, Decimal
from typing import Any

from engine.rules.pending import ACTIVE, PENDING


@dataclass(frozen=True, slots=True)
class RefundPlan:
    points: int = 0  # points this refund reverses in all
    pending: int = 0  # cancelled from the order's pending lot
    active: int = 0  # taken from active lots
    already_expired: int = 0  # had expired before the refund: nothing left to take back
    shortfall: int = 0  # could not be taken back without a negative balance
    qualifying: int = 0  # tier qualifying points removed
    lots: list[list[Any]] = field(default_factory=list)  # [[lot_id, points], ...] active takes


def refund_refusal(order: Mapping[str, Any] | None, order_id: str, amount: Decimal) -> str | None:
    """Why this refund cannot be applied (the fact is dead-lettered), or None."""
    if amount <= 0:
        return f"refund of order {order_id} must be a positive amount, got {amount}"
    if order is None:
        return f"refund of unknown order {order_id}: no such order was placed by this member"
    total, before = Decimal(order["total"]), Decimal(order["refunded"])
    if before + amount > total:
        return (f"refunds of order {order_id} would add up to {before + amount}, more than its "
                f"total {total} (already refunded {before})")
    return None


def refund_plan(
    order: Mapping[str, Any], amount: Decimal, lot_id: str | None,
    lot: Mapping[str, Any] | None, other_active: Iterable[tuple[str, int]],
) -> RefundPlan:
    """What a refund of ``amount`` reverses. ``other_active`` yields (lot_id, remaining) of the
    member's other active lots, soonest expiring first; it is read only as far as needed."""
    if lot is None or lot_id is None:
        return RefundPlan()
    total, before = Decimal(order["total"]), Decimal(order["refunded"])
    after = before + amount
    points = _share(lot["points"], after, total) - _share(lot["points"], before, total)
    qualifying = min(
        _share(lot["qualifying_awarded"], after, total)
        - _share(lot["qualifying_awarded"], before, total),
        lot["qualifying"],
    )
    need, pending, taken = points, 0, []
    if lot["status"] == PENDING:
        pending = min(need, lot["remaining"])
        need -= pending
    elif lot["status"] == ACTIVE and lot["remaining"] > 0 and need > 0:
        own = min(need, lot["remaining"])
        taken.append([lot_id, own])
        need -= own
    already_expired = min(need, lot["expired"] - lot["absorbed"])
    need -= already_expired
    for other_id, remaining in other_active:
        if need <= 0:
            break
        if other_id == lot_id or remaining <= 0:
            continue
        take = min(need, remaining)
        taken.append([other_id, take])
        need -= take
    active = sum(n for _, n in taken)
    return RefundPlan(points, pending, active, already_expired, need, max(qualifying, 0), taken)


def _share(points: int, part: Decimal, total: Decimal) -> int:
    if total <= 0:
        return 0
    return int((points * part / total).to_integral_value(rounding=ROUND_FLOOR))
