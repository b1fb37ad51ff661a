"""What an engagement rule decides: points under a rule, or nothing and why."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Award:
    rule: str
    lot_id: str
    points: int


@dataclass(frozen=True, slots=True)
class Nothing:
    reason: str


Outcome = Award | Nothing
