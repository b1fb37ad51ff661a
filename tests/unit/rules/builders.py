"""Builders for domain tests: facts as the contract delivers them, programs, ledger checks."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone
from typing import Any

from engine.aggregates.member import Member
from engine.contract import Fact
from engine.program.model import Program, ProgramBook, default_program

T0 = datetime(2025, 1, 1, 9, 0, tzinfo=timezone.utc)


def day(n: float) -> datetime:
    """Engine time ``n`` days after T0."""
    return T0 + timedelta(days=n)


def program(**changes: Any) -> Program:
    return replace(default_program(), **changes)


def book(**changes: Any) -> ProgramBook:
    return ProgramBook([program(**changes)])


def member(customer: str = "ann", when: datetime = T0) -> Member:
    return Member(customer_id=customer, timestamp=when)


def order(eid: str, total: str = "100.00", when: datetime = T0, *, customer: str = "ann",
          shipping: str = "0.00", order_id: str | None = None, currency: str = "SAR",
          lines: list[dict[str, Any]] | None = None, category: str = "fashion") -> Fact:
    if lines is None:
        lines = [{"sku": "sku-1", "category": category, "quantity": 1, "unit_price": total}]
    return Fact(eid, "order.placed", when, customer, {
        "order_id": order_id or f"o-{eid}", "currency": currency, "total": total,
        "shipping": shipping, "lines": lines})


def refund(eid: str, order_id: str, amount: str, when: datetime, *,
           customer: str = "ann") -> Fact:
    return Fact(eid, "order.refunded", when, customer, {"order_id": order_id, "amount": amount})


def review(eid: str, sku: str = "sku-1", when: datetime = T0, *, verified: bool = True,
           customer: str = "ann") -> Fact:
    return Fact(eid, "review.posted", when, customer, {
        "review_id": f"r-{eid}", "sku": sku, "rating": 5, "verified_purchase": verified})


def share(eid: str, when: datetime = T0, *, customer: str = "ann") -> Fact:
    return Fact(eid, "share.posted", when, customer,
                {"channel": "instagram", "url": f"https://example.com/{eid}"})


def registered(eid: str, when: datetime = T0, *, newsletter: bool = False,
               email: str | None = None, customer: str = "ann") -> Fact:
    data: dict[str, Any] = {"newsletter": newsletter}
    if email is not None:
        data["email_sha256"] = email
    return Fact(eid, "customer.registered", when, customer, data)


def referral(eid: str, referrer: str, when: datetime = T0, *, customer: str = "ann") -> Fact:
    return Fact(eid, "referral.created", when, customer,
                {"referrer_id": referrer, "code": f"code-{referrer}"})


def survey(eid: str, score: int, when: datetime = T0, *, customer: str = "ann") -> Fact:
    return Fact(eid, "survey.answered", when, customer, {"score": score})


def events(m: Member, name: str | None = None) -> list[Any]:
    """The member's not-yet-saved events, optionally only those of one class name."""
    return [e for e in m.pending_events if name is None or type(e).__name__ == name]


def last(m: Member, name: str) -> Any:
    found = events(m, name)
    assert found, f"no {name} event"
    return found[-1]


def ledger_balances(m: Member) -> bool:
    """The books balance: the identity, the lots agree with the totals, nothing negative."""
    identity = m.lifetime_earned - m.redeemed - m.reversed - m.expired == m.available + m.pending
    pending = sum(lot["remaining"] for lot in m.lots.values() if lot["status"] == "pending")
    active = sum(lot["remaining"] for lot in m.lots.values() if lot["status"] == "active")
    never_negative = min([m.available, m.pending, m.qualifying]
                         + [lot["remaining"] for lot in m.lots.values()]) >= 0
    return identity and pending == m.pending and active == m.available and never_negative


def state(m: Member) -> dict[str, Any]:
    """Everything the member holds, for equality after a replay."""
    return {k: v for k, v in vars(m).items() if k != "_pending_events"}
