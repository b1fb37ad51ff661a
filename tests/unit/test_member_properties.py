"""Ledger invariants over random histories (hypothesis)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from eventsourcing.application import Application
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.aggregates.member import Member
from engine.contract import Fact
from engine.errors import RedemptionRefused, RejectedFact
from engine.projections.balance_fold import fold
from tests.unit.rules.builders import (
    T0, book, ledger_balances, order, referral, refund, registered, review, share, state, survey,
)
from tests.unit.rules.test_referrals import deliver as deliver_once

RULES = book()
REWARDS = ["ten-percent-off", "free-shipping", "five-off", "free-product:mug", "nope"]
TIME_DEPENDENT = {"expiring_30d", "next_tier", "points_to_next_tier"}

orders = st.tuples(st.just("order"), st.integers(0, 4000_00), st.integers(0, 30_00),
                   st.sampled_from(["grocery", "perfume", "fashion"]))
redemptions = st.tuples(st.just("redeem"), st.sampled_from(REWARDS), st.integers(0, 3))
steps = st.lists(st.one_of(
    orders, orders, orders, redemptions, redemptions,
    st.tuples(st.just("refund"), st.integers(0, 40), st.integers(1, 100)),
    st.tuples(st.just("review"), st.integers(0, 3), st.booleans()),
    st.tuples(st.just("share")),
    st.tuples(st.just("register"), st.booleans()),
    st.tuples(st.just("survey"), st.integers(0, 10)),
    st.tuples(st.just("referral"), st.sampled_from(["bob", "ann"])),
    st.tuples(st.just("advance"), st.integers(1, 120)),
    st.tuples(st.just("advance"), st.integers(1, 120)),
    st.tuples(st.just("again"), st.integers(0, 40)),
), min_size=15, max_size=40)
gaps = st.lists(st.integers(0, 24 * 10), min_size=40, max_size=40)  # hours between steps


def fact_for(step: tuple[Any, ...], n: int, when: Any, orders: list[Fact]) -> Fact | None:
    kind = step[0]
    if kind == "order":
        total = f"{step[1] // 100}.{step[1] % 100:02d}"
        shipping = f"{min(step[2], step[1]) // 100}.{min(step[2], step[1]) % 100:02d}"
        return order(f"e{n}", total, when, shipping=shipping, category=step[3])
    if kind == "refund" and orders:
        placed = orders[step[1] % len(orders)]
        total = int(placed.data["total"].replace(".", ""))
        cents = total * step[2] // 100
        return refund(f"e{n}", placed.data["order_id"], f"{cents // 100}.{cents % 100:02d}", when)
    if kind == "review":
        return review(f"e{n}", f"sku-{step[1]}", when, verified=step[2])
    if kind == "share":
        return share(f"e{n}", when)
    if kind == "register":
        return registered(f"e{n}", when, newsletter=step[1], email="a" * 64)
    if kind == "survey":
        return survey(f"e{n}", step[1], when)
    if kind == "referral":
        return referral(f"e{n}", step[1], when)
    return None


def run(history: list[tuple[Any, ...]], hours: list[int], *, twice: bool = False,
        check: bool = False) -> dict[str, Member]:
    members = {"ann": Member(customer_id="ann", timestamp=T0),
               "bob": Member(customer_id="bob", timestamp=T0)}
    ann = members["ann"]
    when, applied, orders = T0, [], []

    def deliver(commands: list[Any], *_: Any) -> None:  # redelivered when twice
        deliver_once(list(commands) * (2 if twice else 1), members, RULES)

    for n, step in enumerate(history):
        when = when + timedelta(hours=hours[n])
        fact = fact_for(step, n, when, orders)
        if step[0] == "again" and applied:
            fact = applied[step[1] % len(applied)]
        try:
            if fact is not None:
                for _ in range(2 if twice else 1):
                    deliver(ann.apply_fact(fact, RULES), members, RULES)
                applied.append(fact)
                if fact.type == "order.placed":
                    orders.append(fact)
            elif step[0] == "redeem":
                result = ann.redeem(f"q{step[2]}", step[1], when, RULES)
                deliver(result.commands, members, RULES)
            elif step[0] == "advance":
                when = when + timedelta(days=step[1])
                deliver(ann.advance(when, RULES), members, RULES)
        except (RejectedFact, RedemptionRefused):
            pass
        if check:
            for m in members.values():
                assert ledger_balances(m), (step, vars(m))
    return members


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps, gaps)
def test_balance_never_negative_and_the_books_always_balance(history: Any, hours: Any) -> None:
    run(history, hours, check=True)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps, gaps)
def test_replaying_stored_events_rebuilds_the_same_member(history: Any, hours: Any) -> None:
    members = run(history, hours)
    app: Application = Application(env={"IS_SNAPSHOTTING_ENABLED": "y"})
    app.save(*members.values())
    for m in members.values():
        assert state(app.repository.get(m.id)) == state(m)
    ann = members["ann"]
    app.take_snapshot(ann.id)  # the state transcodes too, so snapshots are possible
    assert state(app.repository.get(ann.id)) == state(ann)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps, gaps)
def test_applying_any_fact_or_command_twice_equals_applying_it_once(history: Any, hours: Any) -> None:
    once, twice = run(history, hours), run(history, hours, twice=True)
    for name in once:
        assert state(twice[name]) == state(once[name])


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps, gaps)
def test_folding_the_events_gives_the_figures_of_the_view(history: Any, hours: Any) -> None:
    for m in run(history, hours).values():
        row = None
        for e in m.pending_events:
            fields = {k: v for k, v in vars(e).items()
                      if k not in ("originator_id", "originator_version", "timestamp")}
            row = fold(row, type(e).__name__, e.timestamp, fields)
        view = m.view(m.modified_on, RULES)
        assert row == {k: v for k, v in view.items() if k not in TIME_DEPENDENT}
