"""Program metrics, pure: each Member event as additions to monthly counters, and the metric
formulas over summed counters. The README ("Program metrics") states the definitions.

Months are calendar months in UTC of the event's time. Counters only ever add up, so a page
of any size gives the same table, and a period's counters are the sums of its months'.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from engine.program.model import Program
from engine.projections.balance_fold import ACTIVITY_EVENTS, ACTIVITY_RULES
from engine.projections.support import from_minor, money_text, month_of, to_minor

MONTH_COUNTERS = (
    "enrolled", "orders", "revenue_minor", "refunds", "refunded_minor", "points_issued",
    "points_redeemed", "points_reversed", "points_expired", "redemptions", "reviews", "shares",
    "promoters", "passives", "detractors",
)
MEMBER_COUNTERS = ("orders", "reviews", "shares", "activity")

Months = dict[str, dict[str, int]]
MemberMonths = dict[tuple[str, str], dict[str, int]]


def fold_metrics(months: Months, members: MemberMonths, member: str, event_type: str,
                 timestamp: datetime, fields: Mapping[str, Any]) -> None:
    """Add one event of ``member`` to the monthly counters (changed in place); a month's or
    a member-month's row appears with its first counter."""
    month = month_of(timestamp)
    mine = (month, member)
    if event_type == "Enrolled":
        _count(months, month, MONTH_COUNTERS, "enrolled")
    elif event_type == "OrderPlaced":
        _count(months, month, MONTH_COUNTERS, "orders")
        _count(months, month, MONTH_COUNTERS, "revenue_minor", to_minor(fields["total"]))
        _count(members, mine, MEMBER_COUNTERS, "orders")
    elif event_type == "OrderRefunded":
        _count(months, month, MONTH_COUNTERS, "refunds")
        _count(months, month, MONTH_COUNTERS, "refunded_minor", to_minor(fields["amount"]))
    elif event_type == "PointsEarned":
        _count(months, month, MONTH_COUNTERS, "points_issued", fields["points"])
    elif event_type == "PointsRedeemed":
        _count(months, month, MONTH_COUNTERS, "points_redeemed", fields["points"])
        _count(months, month, MONTH_COUNTERS, "redemptions")
    elif event_type == "PointsReversed":
        _count(months, month, MONTH_COUNTERS, "points_reversed", fields["pending"] + fields["active"])
    elif event_type == "PointsExpired":
        _count(months, month, MONTH_COUNTERS, "points_expired", fields["points"])
    elif event_type == "SurveyAnswered":
        score = fields["score"]
        _count(months, month, MONTH_COUNTERS,
               "promoters" if score >= 9 else "detractors" if score <= 6 else "passives")
    engagement = _engagement(event_type, fields)
    if engagement is not None:
        _count(months, month, MONTH_COUNTERS, engagement)
        _count(members, mine, MEMBER_COUNTERS, engagement)
    if (event_type in ACTIVITY_EVENTS or (event_type == "PointsEarned"
                                          and fields.get("rule") in ACTIVITY_RULES)
            or (event_type == "ReferralRefused" and fields.get("stage") == "link")):
        _count(members, mine, MEMBER_COUNTERS, "activity")


def _engagement(event_type: str, fields: Mapping[str, Any]) -> str | None:
    """``reviews`` or ``shares`` for a posted review or share, rewarded or not."""
    if event_type == "PointsEarned":
        rule = fields.get("rule")
    elif event_type == "FactRecorded":
        rule = {"review.posted": "review", "share.posted": "share"}.get(fields["fact_type"])
    else:
        return None
    return {"review": "reviews", "share": "shares"}.get(rule or "")


def _count(table: dict[Any, dict[str, int]], key: Any, names: tuple[str, ...], name: str,
           amount: int = 1) -> None:
    row = table.get(key)
    if row is None:
        row = table[key] = dict.fromkeys(names, 0)
    row[name] += amount


def point_value(program: Program) -> Decimal | None:
    """The money one point is worth by the catalog's cheapest reward: the lowest value per
    point among rewards with a fixed money value (``amount_off``); None when there is none."""
    values = [r.value / r.points for r in program.rewards.values()
              if r.kind == "amount_off" and r.value is not None and r.points > 0]
    return min(values) if values else None


def figures(totals: Mapping[str, int], *, buyers: int, returning: int, active: int,
            liability_points: int, value_per_point: Decimal | None) -> dict[str, Any]:
    """The metrics of a period from its summed counters and distinct-member counts. Money is
    a decimal string; rates are fractions (0..1) rounded to 4 places; NPS is -100..100."""
    orders, issued = totals["orders"], totals["points_issued"]
    respondents = totals["promoters"] + totals["passives"] + totals["detractors"]
    revenue = from_minor(totals["revenue_minor"])
    money = None if value_per_point is None else _money(liability_points * value_per_point)
    return {
        "orders": orders, "revenue": _money(revenue),
        "refunds": totals["refunds"], "refunded": _money(from_minor(totals["refunded_minor"])),
        "average_order_value": _money(revenue / orders) if orders else None,
        "buyers": buyers,
        "purchase_frequency": _rate(orders, buyers),
        "repeat_purchase_rate": _rate(returning, buyers),
        "redemption_rate": _rate(totals["points_redeemed"], issued),
        "points_issued": issued, "points_redeemed": totals["points_redeemed"],
        "points_reversed": totals["points_reversed"], "points_expired": totals["points_expired"],
        "redemptions": totals["redemptions"],
        "liability_points": liability_points, "liability_money": money,
        "nps": (round((totals["promoters"] - totals["detractors"]) * 100 / respondents, 1)
                if respondents else None),
        "survey_responses": respondents,
        "active_members": active, "new_members": totals["enrolled"],
        "reviews": totals["reviews"], "shares": totals["shares"],
        "reviews_per_active_member": _rate(totals["reviews"], active),
        "shares_per_active_member": _rate(totals["shares"], active),
    }


def liability_delta(row: Mapping[str, int]) -> int:
    """Points a month added to what members hold (issued less everything that left)."""
    return (row["points_issued"] - row["points_redeemed"] - row["points_reversed"]
            - row["points_expired"])


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _money(amount: Decimal) -> str:
    return money_text(amount)
