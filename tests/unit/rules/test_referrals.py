from __future__ import annotations

from datetime import datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.aggregates.commands import REFERRAL_QUALIFIED, Command, command_id
from engine.aggregates.member import Member
from engine.errors import InvalidFact
from engine.program.model import ProgramBook
from tests.unit.rules.builders import (
    book, day, events, last, ledger_balances, member, order, refund, referral, registered,
)


def deliver(commands: list[Command], members: dict[str, Member], rules: ProgramBook) -> None:
    """Carry commands between members until none are left (the commands topic, in memory)."""
    while commands:
        command = commands.pop(0)
        target = members.setdefault(command.customer_id,
                                    Member(customer_id=command.customer_id,
                                           timestamp=command.occurred_at))
        commands.extend(target.apply_command(command, rules))
        if target.referral_claims:  # in memory every claim is in at once: decide it
            commands.extend(target.settle_referrals(command.occurred_at, None, rules))


def friend_of_bob(rules: ProgramBook, email: str = "a" * 64) -> dict[str, Member]:
    bob = member("bob")
    bob.apply_fact(registered("b1", email="b" * 64, customer="bob"), rules)
    ann = member("ann")
    ann.apply_fact(registered("a1", email=email), rules)
    ann.apply_fact(referral("a2", "bob", day(1)), rules)
    return {"ann": ann, "bob": bob}


def test_referral_links_the_friend_to_the_referrer() -> None:
    members = friend_of_bob(book())
    assert members["ann"].referral == {"referrer_id": "bob", "status": "linked",
                                       "order_id": None}


def test_self_referral_by_the_same_customer_is_refused_with_the_reason() -> None:
    m = member()
    m.apply_fact(referral("e1", "ann"), book())
    refused = last(m, "ReferralRefused")
    assert "self-referral" in refused.reason and refused.stage == "link"
    assert m.referral is None


def test_referral_of_a_customer_who_already_ordered_is_refused() -> None:
    m = member()
    m.apply_fact(order("e1", "50.00"), book())
    m.apply_fact(referral("e2", "bob", day(1)), book())
    assert "already placed an order" in last(m, "ReferralRefused").reason


def test_a_second_referral_of_the_same_friend_is_refused() -> None:
    members = friend_of_bob(book())
    members["ann"].apply_fact(referral("a3", "carl", day(2)), book())
    assert "already referred by bob" in last(members["ann"], "ReferralRefused").reason


def test_first_order_becoming_active_sends_a_command_with_a_derived_id_to_the_referrer() -> None:
    members = friend_of_bob(book())
    ann = members["ann"]
    ann.apply_fact(order("a3", "100.00", day(2)), book())
    commands = ann.advance(day(20), book())
    assert [(c.type, c.customer_id) for c in commands] == [(REFERRAL_QUALIFIED, "bob")]
    assert commands[0].command_id == command_id("ann", "referral")
    assert commands[0].occurred_at == day(16)


def test_referrer_and_friend_each_get_500_when_the_first_order_becomes_active() -> None:
    rules = book()
    members = friend_of_bob(rules)
    members["ann"].apply_fact(order("a3", "100.00", day(2)), rules)
    deliver(members["ann"].advance(day(20), rules), members, rules)
    ann, bob = members["ann"], members["bob"]
    assert bob.available == 600 and ann.available == 700
    assert last(bob, "ReferralRewarded").friend_id == "ann"
    assert last(ann, "ReferralRewarded").role == "friend"
    assert ann.referral is not None and ann.referral["status"] == "rewarded"
    assert ledger_balances(ann) and ledger_balances(bob)


def test_same_email_hash_is_refused_as_self_referral_and_the_friend_is_told() -> None:
    rules = book()
    members = friend_of_bob(rules, email="b" * 64)
    members["ann"].apply_fact(order("a3", "100.00", day(2)), rules)
    deliver(members["ann"].advance(day(20), rules), members, rules)
    assert "same email" in last(members["bob"], "ReferralRefused").reason
    assert "same email" in last(members["ann"], "ReferralRefused").reason
    assert members["bob"].available == 100 and members["ann"].available == 200


def test_a_referrer_is_rewarded_at_most_10_times_in_30_days() -> None:
    rules = book()
    bob = member("bob")
    members = {"bob": bob}
    for n in range(12):
        friend = member(f"f{n}")
        members[f"f{n}"] = friend
        friend.apply_fact(referral(f"f{n}-1", "bob", day(0), customer=f"f{n}"), rules)
        friend.apply_fact(order(f"f{n}-2", "100.00", day(1), customer=f"f{n}"), rules)
        deliver(friend.advance(day(20), rules), members, rules)
    assert bob.available == 5000 and len(events(bob, "ReferralRefused")) == 2
    assert "cap of 10" in last(members["f11"], "ReferralRefused").reason


def test_a_referral_command_delivered_twice_rewards_once() -> None:
    rules = book()
    members = friend_of_bob(rules)
    members["ann"].apply_fact(order("a3", "100.00", day(2)), rules)
    commands = members["ann"].advance(day(20), rules)
    deliver(list(commands) + list(commands), members, rules)
    assert members["bob"].available == 600 and members["ann"].available == 700


def test_first_order_refunded_before_it_became_active_refuses_the_referral() -> None:
    rules = book()
    members = friend_of_bob(rules)
    ann = members["ann"]
    ann.apply_fact(order("a3", "100.00", day(2), order_id="o-1"), rules)
    ann.apply_fact(refund("a4", "o-1", "100.00", day(3)), rules)
    assert ann.advance(day(30), rules) == []
    assert "refunded before it became active" in last(ann, "ReferralRefused").reason


def test_a_command_round_trips_through_json_and_bad_ones_are_invalid() -> None:
    command = Command(command_id("ann", "referral"), REFERRAL_QUALIFIED, "bob", day(3),
                      {"friend_id": "ann", "friend_email_sha256": None})
    assert Command.from_json(command.to_json()) == command
    with pytest.raises(InvalidFact):
        Command.from_json(b'{"command_id": "x"}')
    with pytest.raises(InvalidFact, match="unknown command type"):
        Command.from_json(command.to_json().replace(b"referral.qualified", b"nope"))


def test_a_command_for_another_member_is_rejected() -> None:
    from engine.errors import RejectedFact

    command = Command(command_id("ann", "referral"), REFERRAL_QUALIFIED, "bob", day(3),
                      {"friend_id": "ann"})
    with pytest.raises(RejectedFact, match="not member carl"):
        member("carl").apply_command(command, book())


CLAIMS = 14  # over 26 days: four more than the cap of 10 per 30 days


def claim(index: int) -> Command:
    friend = f"f{index:02d}"
    return Command(command_id(friend, "referral"), REFERRAL_QUALIFIED, "rita", day(2 * index),
                   {"friend_id": friend, "friend_email_sha256": None, "order_id": f"o-{friend}"})


def decided(rita: Member) -> list[tuple[str, str, datetime]]:
    return [(e.friend_id, type(e).__name__, e.timestamp) for e in events(rita)
            if type(e).__name__ in ("ReferralRewarded", "ReferralRefused")]


@settings(max_examples=60)
@given(arrival=st.permutations(range(CLAIMS)), settle_after=st.sets(st.integers(0, CLAIMS - 1)))
def test_claims_are_decided_in_due_time_order_whatever_order_they_arrive_in(
        arrival: list[int], settle_after: set[int]) -> None:
    """The ledger settles, after any arrival, the claims that no claim still on its way
    precedes; the referrer then rewards the same friends as with claims in time order."""
    rules = book()
    expected = member("rita")
    for index in range(CLAIMS):
        expected.apply_command(claim(index), rules)
        expected.settle_referrals(claim(index).occurred_at, None, rules)
    rita = member("rita")
    for step, index in enumerate(arrival):
        rita.apply_command(claim(index), rules)
        still_coming = [claim(i).occurred_at for i in arrival[step + 1:]]
        if step in settle_after:
            rita.settle_referrals(day(2 * CLAIMS), min(still_coming, default=None), rules)
    rita.settle_referrals(day(2 * CLAIMS), None, rules)
    assert sorted(decided(rita)) == sorted(decided(expected))
    assert [f for f, kind, _ in decided(expected) if kind == "ReferralRewarded"] == [
        f"f{i:02d}" for i in range(10)]
    assert rita.available == expected.available and rita.referral_claims == {}
