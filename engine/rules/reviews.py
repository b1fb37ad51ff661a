"""Review rule: points for a review, once per product per member, verified purchases only."""

from __future__ import annotations

from collections.abc import Container
from typing import Any

from engine.program.model import Program
from engine.rules.outcome import Award, Nothing, Outcome


def review_lot_id(sku: str, event_id: str, program: Program) -> str:
    """One lot per product when reviews count once per product (the lot id is the guard)."""
    return f"review:{sku}" if program.review_once_per_product else f"review:{sku}:{event_id}"


def review_outcome(
    data: dict[str, Any], event_id: str, lots: Container[str], program: Program
) -> Outcome:
    sku = data.get("sku", "")
    if program.review_verified_only and not data.get("verified_purchase", False):
        return Nothing(f"review {data.get('review_id')} of {sku} is not from a verified "
                       "purchase: earns nothing")
    lot_id = review_lot_id(sku, event_id, program)
    if lot_id in lots:
        return Nothing(f"review {data.get('review_id')}: product {sku} was already reviewed "
                       "by this member; reviews earn once per product")
    if program.review_points <= 0:
        return Nothing("reviews earn no points in this program")
    return Award("review", lot_id, program.review_points)
