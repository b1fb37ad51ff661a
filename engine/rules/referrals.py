"""Referral rule ("give 500, get 500") and its guards.

The friend's side links the referral (no self-referral by id, one referrer per friend, the
friend must not have ordered yet). When the friend's first order becomes active, the referrer's
side checks what only it knows (same email hash, one reward per friend, the cap per rolling
window) and rewards; the friend is rewarded when the referrer's answer comes back.
"""

from __future__ import annotations

from collections.abc import Container, Mapping, Sequence
from datetime import datetime
from typing import Any

from engine.program.model import Program
from engine.rules.shares import shares_in_window


def link_refusal(
    friend_id: str, referrer_id: str, has_orders: bool, current: Mapping[str, Any] | None
) -> str | None:
    """Why a referral cannot be linked on the friend's side, or None."""
    if not referrer_id:
        return "the referral names no referrer"
    if referrer_id == friend_id:
        return f"self-referral: customer {friend_id} cannot refer themselves"
    if current is not None:
        return (f"customer {friend_id} was already referred by {current['referrer_id']}; "
                "a friend is rewarded for one referral only")
    if has_orders:
        return (f"customer {friend_id} had already placed an order before the referral; only "
                "new customers count")
    return None


def reward_refusal(
    referrer_id: str, referrer_email: str | None, data: Mapping[str, Any],
    rewarded_friends: Container[str], recent_rewards: Sequence[datetime], at: datetime,
    program: Program,
) -> str | None:
    """Why the referrer cannot be rewarded for this friend, or None. ``data`` is the body of
    the referral command (friend_id, friend_email_sha256)."""
    friend_id = data["friend_id"]
    friend_email = data.get("friend_email_sha256")
    if friend_id == referrer_id:
        return f"self-referral: customer {friend_id} cannot refer themselves"
    if referrer_email and friend_email and referrer_email == friend_email:
        return (f"self-referral: friend {friend_id} has the same email address (hash) as "
                f"referrer {referrer_id}")
    if friend_id in rewarded_friends:
        return f"referrer {referrer_id} was already rewarded for friend {friend_id}"
    count = shares_in_window(recent_rewards, at, program.referral_cap_window_days)
    if count >= program.referral_cap:
        return (f"referrer {referrer_id} reached the cap of {program.referral_cap} referral "
                f"rewards in {program.referral_cap_window_days} days")
    return None
