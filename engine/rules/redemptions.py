"""Redemption rule: a catalog reward costs points, taken from the active lots that expire
soonest; a short balance is refused with the available amount in the message."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from uuid import UUID, uuid5

from engine.errors import RedemptionRefused
from engine.program.model import Program, Reward


def resolve_reward(name: str, program: Program) -> tuple[Reward, int]:
    """The catalog entry and its cost for a reward name (``free-product:<sku>`` style for free
    products); raise RedemptionRefused for a name the catalog does not offer."""
    base, _, sku = name.partition(":")
    reward = program.rewards.get(base)
    offered = ", ".join(sorted(
        f"{r.name}:<sku>" if r.kind == "free_product" else r.name
        for r in program.rewards.values()))
    if reward is None:
        raise RedemptionRefused(f"unknown reward {name!r}; the catalog offers: {offered}")
    if reward.kind == "free_product" and not sku:
        raise RedemptionRefused(f"name the product: {base}:<sku>")
    if reward.kind != "free_product" and sku:
        raise RedemptionRefused(f"reward {base!r} takes no product; the catalog offers: {offered}")
    return reward, reward.cost(sku or None)


def plan_redemption(
    reward: str, cost: int, available: int, pending: int, active_lots: Iterable[tuple[str, int]]
) -> list[list[Any]]:
    """[[lot_id, points], ...] covering ``cost`` from ``active_lots`` (soonest expiring first);
    raise RedemptionRefused when the active balance is short."""
    if cost > available:
        waiting = f" ({pending} more pending, not yet spendable)" if pending else ""
        raise RedemptionRefused(
            f"{reward} costs {cost} points but only {available} are available{waiting}")
    taken, need = [], cost
    for lot_id, remaining in active_lots:
        if need <= 0:
            break
        if remaining <= 0:
            continue
        take = min(need, remaining)
        taken.append([lot_id, take])
        need -= take
    if need > 0:  # the lots disagree with the balance: refuse rather than overspend
        raise RedemptionRefused(
            f"{reward} costs {cost} points but the active lots hold only {cost - need}")
    return taken


def coupon_code(member: UUID, request_id: str) -> str:
    """A deterministic coupon code for a redemption request (same request, same code)."""
    digest = uuid5(member, f"redemption:{request_id}").hex.upper()
    return f"LOY-{digest[:4]}-{digest[4:8]}-{digest[8:12]}"
