"""Pending rule: order points wait out the return window, then become active.

Activation is driven by engine time (the due time becomes the activation event's timestamp);
review, share, welcome, referral and tier-entry points are active at once.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from engine.program.model import Program

PENDING = "pending"
ACTIVE = "active"
CANCELLED = "cancelled"

AT_ONCE_RULES = frozenset({"review", "share", "welcome", "newsletter", "referral_friend",
                           "referral_referrer", "tier_entry"})


def activates_at(placed_at: datetime, program: Program) -> datetime:
    """When the points of an order placed at ``placed_at`` become active."""
    return placed_at + timedelta(days=program.pending_days)


def initial_status(rule: str) -> str:
    """Order points start pending; every other award is active at once."""
    return ACTIVE if rule in AT_ONCE_RULES else PENDING


def is_due(due: datetime | None, now: datetime) -> bool:
    return due is not None and due <= now
