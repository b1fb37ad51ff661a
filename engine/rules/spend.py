"""Spend rule: points per whole currency unit of (total - shipping), rounded down, times the
category multiplier of each line and the member's tier multiplier.

Qualifying points (what tiers count) are the spend points before the tier multiplier, so that a
tier does not feed itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal, InvalidOperation
from typing import Any

from engine.program.model import Program

ONE = Decimal(1)


@dataclass(frozen=True, slots=True)
class SpendAward:
    points: int
    qualifying: int
    reason: str  # why nothing was earned; "" when points were earned


def money(value: Any, what: str) -> Decimal:
    """A decimal string as Decimal; ValueError naming ``what`` when it is not a finite number."""
    try:
        number = Decimal(value) if isinstance(value, str) else None
    except InvalidOperation:
        number = None
    if number is None or not number.is_finite():
        raise ValueError(f"{what} must be a decimal string, got {value!r}")
    return number


def order_refusal(data: dict[str, Any], program: Program) -> str | None:
    """Why an order cannot be taken: another currency than the program's, or an implausible
    total; None when it can."""
    currency = data.get("currency")
    if currency != program.currency:
        return (f"order {data.get('order_id')} is in {currency} but program version "
                f"{program.version} is in {program.currency}; orders are never converted")
    try:
        total = money(data.get("total"), "total")
    except ValueError:
        return None  # spend_award says what is wrong with it
    if total > program.maximum_order_value:
        return (f"order {data.get('order_id')} total {total} {currency} is above the maximum "
                f"order value {program.maximum_order_value} of program version "
                f"{program.version}; refused as implausible")
    return None


def spend_award(data: dict[str, Any], program: Program, tier_multiplier: Decimal) -> SpendAward:
    """The award for an order body (money as decimal strings, already validated)."""
    eligible = money(data["total"], "total") - money(data.get("shipping", "0"), "shipping")
    if eligible < program.minimum_order_value:
        return SpendAward(0, 0, f"order value {eligible} {program.currency} is below the "
                                f"minimum order value {program.minimum_order_value}")
    units = eligible.to_integral_value(rounding=ROUND_FLOOR) if eligible > 0 else Decimal(0)
    if units <= 0:
        return SpendAward(0, 0, f"order value {eligible} {program.currency} is less than one "
                                "whole currency unit")
    numerator, denominator = _category_weights(data.get("lines") or (), program)
    base = units * program.points_per_unit * numerator
    qualifying = _floor(base / denominator)
    points = _floor(base * tier_multiplier / denominator)
    if points <= 0:
        return SpendAward(0, 0, "the category multipliers of this order earn no points")
    return SpendAward(points, qualifying, "")


def spend_points(data: dict[str, Any], program: Program) -> int:
    """Points for an order body at tier multiplier 1."""
    return spend_award(data, program, ONE).points


def _category_weights(lines: Any, program: Program) -> tuple[Decimal, Decimal]:
    """(sum of line value x multiplier, sum of line value): the value-weighted multiplier."""
    multipliers = program.category_multipliers
    if not multipliers:
        return ONE, ONE
    weighted = total = Decimal(0)
    for line in lines:
        value = money(line["unit_price"], "unit_price") * int(line["quantity"])
        weighted += value * multipliers.get(line.get("category", ""), ONE)
        total += value
    if total <= 0:
        return ONE, ONE
    return weighted, total


def _floor(value: Decimal) -> int:
    return int(value.to_integral_value(rounding=ROUND_FLOOR))
