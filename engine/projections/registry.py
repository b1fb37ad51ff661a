"""Every read model the engine keeps, in the order they are brought up to date."""

from __future__ import annotations

from collections.abc import Callable

from engine.projections.balances import BalanceProjection
from engine.projections.runner import Projection, catch_up
from engine.store.app import LoyaltyStore


def projections() -> list[Projection]:
    return [BalanceProjection()]


def catch_up_all(store: LoyaltyStore, progress: Callable[[int], None] | None = None) -> int:
    """Bring every projection up to date; returns the events read."""
    return sum(catch_up(store, projection, progress=progress) for projection in projections())
