"""Checking one member's stored events against a replay of its sources: facts, commands,
redemptions and sweeps replay clean; a changed source, an unexplained event and a re-sent fact
that would now produce something are each reported where they are."""

from __future__ import annotations

import orjson
import pytest

from engine.contract import encode
from tests.unit.audit.recording import Recording
from tests.unit.rules.builders import (
    book,
    day,
    order,
    referral,
    refund,
    registered,
    review,
    share,
)

RULES = book()


@pytest.fixture
def story() -> Recording:
    """Ann joins through Bob's code, buys, reviews, shares, gets a refund, redeems, and is
    swept past activations and expiries; Bob is rewarded for her first order."""
    rec = Recording(RULES)
    rec.fact(registered("b-reg", customer="bob", email="b" * 64))
    rec.fact(registered("a-reg", day(1), newsletter=True, email="a" * 64))
    rec.fact(referral("a-ref", "bob", day(1)))
    rec.fact(order("a-o1", "600.00", day(2), order_id="A-1"))
    rec.fact(review("a-rev", when=day(3)))
    rec.fact(share("a-sh", day(3)))
    rec.fact(order("a-o2", "200.00", day(5), order_id="A-2"))
    rec.fact(refund("a-rf", "A-2", "100.00", day(6)))
    rec.sweep("ann", day(20))  # activates A-1: Ann's referral qualifies
    rec.deliver()  # qualified -> Bob rewarded -> settled -> Ann rewarded
    rec.redemption("ann", "req-1", "ten-percent-off", day(21))
    rec.fact(order("a-o1", "600.00", day(2), order_id="A-1"))  # a storefront re-send
    rec.sweep("ann", day(500))  # everything left expires
    rec.sweep("bob", day(500))
    return rec


def kinds(rec: Recording, customer: str) -> set[str]:
    return {r.kind for r in rec.sources[rec.members[customer].id.hex]}


def test_a_story_of_every_kind_of_source_replays_clean(story: Recording):
    assert kinds(story, "ann") == {"fact", "command", "redemption", "sweep"}
    assert "settle" in kinds(story, "bob")
    for customer in ("ann", "bob"):
        result = story.check(customer)
        assert result.mismatches == [] and result.broken_link is None
        assert result.replayed == result.events == story.members[customer].version
    names = {type(e).__name__ for e in story.check("ann", keep=True).recomputed.values()
             for e in [e[0]]}
    assert {"PointsEarned", "PointsActivated", "PointsReversed", "PointsRedeemed",
            "PointsExpired", "ReferralRewarded"} <= names


def test_a_re_sent_fact_is_kept_without_a_span_and_still_replays_to_nothing(story: Recording):
    resent = [r for r in story.sources[story.members["ann"].id.hex] if r.from_version is None]
    assert [r.source_id for r in resent] == ["a-o1"]
    assert story.check("ann").mismatch_count == 0


def test_a_changed_order_total_is_reported_on_its_spend_award(story: Recording):
    row = story.source("ann", "a-o1")
    fact = orjson.loads(row.payload)
    fact["data"]["total"] = "900.00"
    story.replace_source("ann", "a-o1", payload=orjson.dumps(fact).decode())
    result = story.check("ann")
    spend = next(m for m in result.mismatches if m.event == "PointsEarned")
    assert (spend.rule, spend.source, spend.expected["points"], spend.found["points"]) == (
        "spend", row.key, 900, 600)
    assert result.broken_link is None  # the events themselves are intact


def test_a_changed_redemption_is_reported_as_a_redemption_mismatch(story: Recording):
    row = story.source("ann", "req-1")
    body = orjson.loads(row.payload)
    body["reward"] = "free-shipping"
    story.replace_source("ann", "req-1", payload=orjson.dumps(body).decode())
    result = story.check("ann")
    first = result.mismatches[0]
    assert (first.event, first.rule, first.version) == ("PointsRedeemed", "redemption",
                                                        row.from_version)
    assert (first.expected["points"], first.found["points"]) == (250, 400)


def test_a_sweep_moved_earlier_no_longer_activates_what_it_did(story: Recording):
    row = story.source("ann", day(20).isoformat())
    story.replace_source("ann", row.source_id, payload=orjson.dumps(
        {"now": day(10).isoformat()}).decode())
    result = story.check("ann")
    assert result.mismatches[0].version == row.from_version
    assert result.mismatches[0].rule == "pending"
    assert "did not produce" in result.mismatches[0].reason


def test_a_changed_command_is_reported_on_the_referral_award(story: Recording):
    row = next(r for r in story.sources[story.members["bob"].id.hex] if r.kind == "command")
    command = orjson.loads(row.payload)
    command["data"]["friend_id"] = "bob"  # a self-referral: the guard refuses it
    story.replace_source("bob", row.source_id, payload=orjson.dumps(command).decode())
    result = story.check("bob")
    assert result.mismatch_count > 0
    assert result.mismatches[0].rule in ("referral_referrer", "referral")
    assert result.mismatches[0].version == row.from_version


def test_an_event_no_source_explains_is_reported(story: Recording):
    oid = story.members["ann"].id.hex
    story.sources[oid] = [r for r in story.sources[oid] if r.source_id != "req-1"]
    result = story.check("ann")
    unexplained = [m for m in result.mismatches if "no stored source" in m.reason]
    assert unexplained and unexplained[0].event == "PointsRedeemed"


def test_a_source_that_produced_nothing_but_would_now_is_reported(story: Recording):
    oid = story.members["ann"].id.hex
    story.sources[oid].append(story.sources[oid][-1].__class__(
        key="late", kind="fact", topic="test", partition=0, offset=99, source_id="a-new",
        customer_id="ann", member_id=oid, from_version=None, to_version=None,
        payload=encode(review("a-new", sku="sku-9", when=day(600))).decode()))
    result = story.check("ann")
    assert result.mismatch_count >= 1
    assert all(m.source == "late" for m in result.mismatches)
    assert "produced nothing" in result.mismatches[0].reason
