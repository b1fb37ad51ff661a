"""Welcome rule: points on registration, more for the newsletter; each once per member."""

from __future__ import annotations

from collections.abc import Container
from typing import Any

from engine.program.model import Program
from engine.rules.outcome import Award

WELCOME_LOT = "welcome"
NEWSLETTER_LOT = "newsletter"


def welcome_awards(data: dict[str, Any], lots: Container[str], program: Program) -> list[Award]:
    """The welcome and newsletter awards still due for a registration (maybe none)."""
    awards = []
    if WELCOME_LOT not in lots and program.welcome_points > 0:
        awards.append(Award("welcome", WELCOME_LOT, program.welcome_points))
    if data.get("newsletter") and NEWSLETTER_LOT not in lots and program.newsletter_points > 0:
        awards.append(Award("newsletter", NEWSLETTER_LOT, program.newsletter_points))
    return awards


def nothing_reason(data: dict[str, Any]) -> str:
    if data.get("newsletter"):
        return "welcome and newsletter points were already given to this member"
    return "welcome points were already given to this member (no newsletter sign-up)"
