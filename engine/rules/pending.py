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


def activates_at(placed_at: datetime, program: Program) -> datetime:
    """When the points of an order placed at ``placed_at`` become active."""
    return placed_at + timedelta(days=program.pending_days)
