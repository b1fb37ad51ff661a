"""Spend rule: points per whole currency unit of (total - shipping)."""

from __future__ import annotations

from decimal import ROUND_FLOOR, Decimal
from typing import Any

from engine.program.model import Program


def spend_points(data: dict[str, Any], program: Program) -> int:
    """Points for an order body: whole currency units of total - shipping, times the rate."""
    eligible = Decimal(data["total"]) - Decimal(data.get("shipping", "0"))
    if eligible <= 0:
        return 0
    return int(eligible.to_integral_value(rounding=ROUND_FLOOR)) * program.points_per_unit
