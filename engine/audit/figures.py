"""The figures a what-if compares, folded from a ledger's member events (live or simulated).

Flows count events stamped inside the period ``[start, end)``: points issued (by rule),
reversed, redeemed and expired. Stocks are read at ``as_of``: every member's balance row
(``balance_fold``) over the events stamped before ``end``; liability = available + pending
summed over members; the tier mix; the churn grades (the churn projection's pure scoring,
``engine.projections.churn_fold``, graded at ``as_of`` under the program then in force).
Live and simulated ledgers go through this same fold, so they compare like for like.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from engine.program.model import ProgramBook
from engine.projections.balance_fold import fold
from engine.projections.churn_fold import fold_stats, grade, moves_stats


@dataclass
class Figures:
    issued: Counter[str] = field(default_factory=Counter)  # points by rule
    reversed: int = 0
    redeemed: int = 0
    redemptions: int = 0
    expired: int = 0
    liability: int = 0  # available + pending at as_of
    available: int = 0
    members: int = 0
    tier_mix: Counter[str] = field(default_factory=Counter)
    churn: Counter[str] = field(default_factory=Counter)
    events: int = 0  # member events folded
    # per customer: (available + pending, tier) at as_of
    balances: dict[str, tuple[int, str]] = field(default_factory=dict)

    @property
    def issued_total(self) -> int:
        return sum(self.issued.values())

    def to_json(self) -> dict[str, Any]:
        return {
            "points_issued": self.issued_total, "issued_by_rule": dict(sorted(self.issued.items())),
            "points_reversed": self.reversed, "points_redeemed": self.redeemed,
            "redemptions": self.redemptions, "points_expired": self.expired,
            "liability": self.liability, "available": self.available, "members": self.members,
            "tier_mix": dict(sorted(self.tier_mix.items())),
            "churn_grades": dict(sorted(self.churn.items())),
        }


class FigureFold:
    """Fold member events (per member, in version order) into ``Figures``."""

    def __init__(self, programs: ProgramBook, start: datetime | None, end: datetime | None,
                 as_of: datetime) -> None:
        self.programs, self.start, self.end, self.as_of = programs, start, end, as_of
        self.figures = Figures()
        self.rows: dict[str, dict[str, Any] | None] = {}
        self.stats: dict[str, dict[str, Any] | None] = {}

    def add_event(self, key: str, event: Any) -> None:
        """One event (a domain event object) of member ``key`` (its id hex)."""
        self.add(key, type(event).__name__, event.timestamp, event.__dict__)

    def add(self, key: str, name: str, at: datetime, fields: dict[str, Any]) -> None:
        """One event of member ``key``: its class name, time and attributes (not changed)."""
        if self.end is not None and at >= self.end:
            return
        figures = self.figures
        figures.events += 1
        if self.start is None or at >= self.start:
            if name == "PointsEarned":
                figures.issued[fields["rule"]] += fields["points"]
            elif name == "PointsReversed":
                figures.reversed += fields["pending"] + fields["active"]
            elif name == "PointsRedeemed":
                figures.redeemed += fields["points"]
                figures.redemptions += 1
            elif name == "PointsExpired":
                figures.expired += fields["points"]
        self.rows[key] = fold(self.rows.get(key), name, at, fields)
        if moves_stats(name, fields):
            self.stats[key] = fold_stats(self.stats.get(key), name, at, fields,
                                         self.programs.in_force_at(at))[0]

    def finish(self) -> Figures:
        figures = self.figures
        for key, row in self.rows.items():
            if row is None:
                continue
            figures.members += 1
            figures.available += row["available"]
            figures.liability += row["available"] + row["pending"]
            figures.tier_mix[row["tier"]] += 1
            figures.balances[row["customer_id"]] = (row["available"] + row["pending"],
                                                    row["tier"])
            stats = self.stats.get(key)
            if stats is not None:
                figures.churn[grade(stats, self.as_of)["grade"]] += 1
        return figures

