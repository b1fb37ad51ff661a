"""Tier rule: qualifying points in a rolling window decide the tier; upgrade at once (with the
entry bonus the first time a tier is reached), downgrade only at the member's yearly review and
by at most ``tier_max_downgrade`` tiers.

A tier name the program does not know (a renamed tier) counts as the lowest tier.
"""

from __future__ import annotations

from collections.abc import Container
from datetime import datetime, timedelta
from decimal import Decimal

from engine.program.model import Program, Tier


def tier_rank(name: str, program: Program) -> int:
    for rank, tier in enumerate(program.tiers):
        if tier.name == name:
            return rank
    return 0


def multiplier(name: str, program: Program) -> Decimal:
    return program.tiers[tier_rank(name, program)].multiplier


def deserved_tier(qualifying: int, program: Program) -> Tier:
    """The highest tier whose threshold the qualifying points reach."""
    found = program.tiers[0]
    for tier in program.tiers:
        if tier.threshold <= qualifying:
            found = tier
    return found


def upgrade(
    current: str, qualifying: int, reached: Container[str], program: Program
) -> tuple[Tier | None, list[Tier]]:
    """(the tier to move up to or None, the tiers passed for the first time). Each tier passed
    for the first time pays its entry bonus, so that one big order earns what climbing the
    tiers one by one would."""
    tiers = program.tiers
    rank = tier_rank(current, program)
    if rank + 1 >= len(tiers) or qualifying < tiers[rank + 1].threshold:
        return None, []  # the common case, decided without a scan
    target_rank = rank + 1
    while target_rank + 1 < len(tiers) and tiers[target_rank + 1].threshold <= qualifying:
        target_rank += 1
    first = [t for t in tiers[rank + 1: target_rank + 1] if t.name not in reached]
    return tiers[target_rank], first


def review_tier(current: str, qualifying: int, program: Program) -> Tier:
    """The tier after a yearly review: the current one if still earned, else at most
    ``tier_max_downgrade`` tiers lower (never below what the points earn)."""
    rank = tier_rank(current, program)
    deserved = tier_rank(deserved_tier(qualifying, program).name, program)
    if deserved >= rank:
        return program.tiers[rank]
    return program.tiers[max(deserved, rank - program.tier_max_downgrade)]


def next_review_at(at: datetime, tier: str, program: Program) -> datetime | None:
    """When a member at ``tier`` since ``at`` is next reviewed; the lowest tier needs none."""
    if tier_rank(tier, program) == 0:
        return None
    return at + timedelta(days=program.tier_review_days)


def qualifying_until(earned_at: datetime, program: Program) -> datetime:
    """When points earned at ``earned_at`` leave the rolling qualifying window."""
    return earned_at + timedelta(days=program.tier_window_days)


def next_tier(current: str, qualifying: int, program: Program) -> tuple[str | None, int | None]:
    """(the next tier up, qualifying points still needed), or (None, None) at the top."""
    rank = tier_rank(current, program)
    if rank + 1 >= len(program.tiers):
        return None, None
    tier = program.tiers[rank + 1]
    return tier.name, max(tier.threshold - qualifying, 0)


def reason_for_upgrade(target: Tier, qualifying: int) -> str:
    return (f"{qualifying} qualifying points reach {target.name} "
            f"(threshold {target.threshold})")


def reason_for_review(new: Tier, old: str, qualifying: int, window_days: int) -> str:
    return (f"yearly review: {qualifying} qualifying points in the last {window_days} days "
            f"no longer keep {old}; moved to {new.name}")
