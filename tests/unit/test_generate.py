"""The demo stream: deterministic, valid where it should be, and shaped like a real store."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
from collections import Counter, defaultdict
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import orjson
import pytest

from engine.contract import TOPIC_BY_TYPE, Fact, decode
from engine.demo import DEFAULT_START, generate, write_jsonl
from engine.demo.poison import KINDS
from engine.errors import InvalidFact


@pytest.fixture(scope="module")
def lines() -> list[bytes]:
    return generate()


@pytest.fixture(scope="module")
def decoded(lines: list[bytes]) -> tuple[list[Fact], list[str]]:
    """The first send of every valid message, in stream order, and the malformed reasons."""
    facts, reasons, seen = [], [], set()
    for line in lines:
        try:
            fact = decode(line)
        except InvalidFact as refusal:
            reasons.append(refusal.reason)
            continue
        if fact.event_id not in seen:
            seen.add(fact.event_id)
            facts.append(fact)
    return facts, reasons


@pytest.fixture(scope="module")
def facts(decoded: tuple[list[Fact], list[str]]) -> list[Fact]:
    return decoded[0]


def of_type(facts: list[Fact], fact_type: str) -> list[Fact]:
    return [fact for fact in facts if fact.type == fact_type]


def test_the_same_seed_gives_the_same_bytes_and_another_seed_does_not() -> None:
    first = generate(customers=40, days=60, seed=3)

    assert generate(customers=40, days=60, seed=3) == first
    assert generate(customers=40, days=60, seed=4) != first


def test_a_year_of_300_customers_is_between_5_and_20_thousand_messages(lines: list[bytes]) -> None:
    assert 5_000 <= len(lines) <= 20_000


def test_every_event_type_appears_in_plausible_proportions(facts: list[Fact]) -> None:
    counts = Counter(fact.type for fact in facts)

    assert set(counts) == set(TOPIC_BY_TYPE)
    assert counts["customer.registered"] == 300
    assert counts["order.placed"] > 8 * counts["customer.registered"]
    assert counts["order.placed"] * 0.02 < counts["order.refunded"] < counts["order.placed"] * 0.1
    assert counts["order.placed"] * 0.05 < counts["review.posted"] < counts["order.placed"] * 0.2
    assert 20 <= counts["referral.created"] <= 80
    assert 30 <= counts["survey.answered"] <= 200
    assert counts["share.posted"] > 100


def test_every_valid_line_decodes_and_exactly_the_malformed_ones_fail(
    decoded: tuple[list[Fact], list[str]],
) -> None:
    reasons = decoded[1]

    assert len(reasons) == 5
    assert any(reason.startswith("not JSON") for reason in reasons)
    assert any("missing required field 'customer_id'" in reason for reason in reasons)
    assert any("data.total must be a non-negative decimal string" in reason for reason in reasons)
    assert any(reason.startswith("unknown event type 'order.shipped'") for reason in reasons)
    assert any("must be an RFC 3339 date-time" in reason for reason in reasons)


def test_more_malformed_messages_cycle_through_every_kind_of_mistake() -> None:
    failures = 0
    for line in generate(customers=40, days=60, seed=5, malformed=len(KINDS) + 2):
        try:
            decode(line)
        except InvalidFact:
            failures += 1

    assert failures == len(KINDS) + 2


def test_duplicates_are_exact_resends_arriving_after_their_original(lines: list[bytes]) -> None:
    first_position: dict[bytes, int] = {}
    resent = []
    for position, line in enumerate(lines):
        if line in first_position:
            resent.append((first_position[line], position))
        else:
            first_position[line] = position

    assert len(resent) == 10
    assert all(first < later for first, later in resent)
    assert all(decode(lines[first]) == decode(lines[later]) for first, later in resent)


def test_the_stream_is_in_occurred_at_order_and_inside_the_requested_year(
    facts: list[Fact],
) -> None:
    stamps = [fact.occurred_at for fact in facts]
    end = DEFAULT_START + timedelta(days=365)

    assert stamps == sorted(stamps)
    assert DEFAULT_START <= stamps[0] and stamps[-1] < end


def test_valid_messages_carry_riyadh_time(lines: list[bytes], facts: list[Fact]) -> None:
    valid = {fact.event_id for fact in facts}
    objects = [line for line in lines if line.startswith(b"{") and line.endswith(b"}")]
    messages = [orjson.loads(line) for line in objects]

    offsets = {m["occurred_at"][-6:] for m in messages if m.get("event_id") in valid}

    assert offsets == {"+03:00"}


def test_orders_are_in_riyals_with_shipping_inside_the_total(facts: list[Fact]) -> None:
    orders = of_type(facts, "order.placed")

    assert {order.data["currency"] for order in orders} == {"SAR"}
    assert all(Decimal(o.data["total"]) >= Decimal(o.data["shipping"]) for o in orders)
    assert {o.data["shipping"] for o in orders} == {"0.00", "25.00"}
    assert 150 < statistics.mean(float(o.data["total"]) for o in orders) < 1500


def test_grocery_buyers_order_about_weekly_and_perfume_buyers_a_few_times_a_year(
    facts: list[Fact],
) -> None:
    visits: dict[tuple[str, str], list[datetime]] = defaultdict(list)
    for order in of_type(facts, "order.placed"):
        for category in {line["category"] for line in order.data["lines"]}:
            visits[(order.customer_id, category)].append(order.occurred_at)
    gaps: dict[str, list[float]] = defaultdict(list)
    for (_, category), times in visits.items():
        gaps[category] += [(b - a) / timedelta(days=1) for a, b in zip(times, times[1:])]

    assert 4 < statistics.median(gaps["grocery"]) < 12
    assert statistics.median(gaps["perfume"]) > 60
    assert set(gaps) == {"grocery", "perfume", "electronics", "fashion", "beauty"}


def test_refunds_follow_their_order_partly_or_fully_some_after_the_return_window(
    facts: list[Fact],
) -> None:
    orders = {o.data["order_id"]: o for o in of_type(facts, "order.placed")}
    refunds = of_type(facts, "order.refunded")
    days_after = []
    full = 0
    for refund in refunds:
        order = orders[refund.data["order_id"]]
        assert refund.customer_id == order.customer_id
        assert Decimal(refund.data["amount"]) <= Decimal(order.data["total"])
        days_after.append((refund.occurred_at - order.occurred_at) / timedelta(days=1))
        full += refund.data["amount"] == order.data["total"]

    assert min(days_after) > 0
    assert any(days < 14 for days in days_after) and any(days > 14 for days in days_after)
    assert 0 < full < len(refunds)


def test_reviews_are_mostly_verified_and_some_products_are_reviewed_twice(
    facts: list[Fact],
) -> None:
    reviews = of_type(facts, "review.posted")
    per_product = Counter((review.customer_id, review.data["sku"]) for review in reviews)

    verified = sum(review.data["verified_purchase"] for review in reviews)
    assert len(reviews) * 0.8 < verified < len(reviews)
    assert any(count > 1 for count in per_product.values())


def test_some_customers_share_more_than_three_times_in_seven_days(facts: list[Fact]) -> None:
    shares: dict[str, list[datetime]] = defaultdict(list)
    for share in of_type(facts, "share.posted"):
        shares[share.customer_id].append(share.occurred_at)
    week = timedelta(days=7)

    bursts = [c for c, times in shares.items() if any(
        sum(1 for t in times if start <= t < start + week) > 3 for start in times)]

    assert len(bursts) >= 3
    assert len(bursts) < len(shares)


def test_referred_friends_register_then_name_their_referrer_then_order(facts: list[Fact]) -> None:
    registered = {f.customer_id: f.occurred_at for f in of_type(facts, "customer.registered")}
    first_order: dict[str, datetime] = {}
    for order in of_type(facts, "order.placed"):
        first_order.setdefault(order.customer_id, order.occurred_at)
    honest = [r for r in of_type(facts, "referral.created")
              if r.data["referrer_id"] != r.customer_id
              and r.occurred_at - registered[r.customer_id] < timedelta(hours=1)]

    assert len(honest) >= 20
    for referral in honest:
        assert registered[referral.data["referrer_id"]] < registered[referral.customer_id]
        assert registered[referral.customer_id] < referral.occurred_at
        assert referral.occurred_at < first_order[referral.customer_id]
        assert referral.data["code"] == "REF-" + referral.data["referrer_id"].upper()


def test_the_stream_carries_the_referral_abuse_the_rules_must_stop(facts: list[Fact]) -> None:
    registrations = of_type(facts, "customer.registered")
    emails = {r.customer_id: r.data.get("email_sha256") for r in registrations}
    referrals = of_type(facts, "referral.created")
    own_code = [r for r in referrals if r.customer_id == r.data["referrer_id"]]
    same_email = [
        r for r in referrals
        if r not in own_code
        and emails[r.customer_id] is not None
        and emails[r.customer_id] == emails[r.data["referrer_id"]]
    ]
    per_referrer = Counter(r.data["referrer_id"] for r in referrals)
    top, top_count = per_referrer.most_common(1)[0]
    top_times = sorted(r.occurred_at for r in referrals if r.data["referrer_id"] == top)

    assert len(same_email) == 2
    assert len(own_code) == 1
    assert top_count > 10
    assert top_times[10] - top_times[0] < timedelta(days=30)


def test_survey_scores_cover_promoters_passives_and_detractors(facts: list[Fact]) -> None:
    scores = [survey.data["score"] for survey in of_type(facts, "survey.answered")]

    assert any(score >= 9 for score in scores)
    assert any(7 <= score <= 8 for score in scores)
    assert any(score <= 6 for score in scores)


def test_write_jsonl_writes_one_message_per_line(tmp_path: Path) -> None:
    lines = generate(customers=20, days=30, seed=1, malformed=1, duplicates=1)
    target = tmp_path / "demo" / "stream.jsonl"

    written = write_jsonl(target, lines)

    assert written == len(lines)
    assert target.read_bytes().splitlines() == lines


def test_a_start_without_an_offset_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        generate(start=datetime(2025, 1, 1))


def test_another_start_and_offset_shift_the_whole_stream() -> None:
    start = datetime(2026, 3, 1, tzinfo=timezone.utc)

    facts = [decode(line) for line in generate(customers=30, days=30, seed=2, start=start,
                                               malformed=0, duplicates=0)]

    assert all(start <= fact.occurred_at < start + timedelta(days=30) for fact in facts)


def test_the_stream_does_not_depend_on_the_interpreters_hash_seed() -> None:
    code = (
        "import hashlib; from engine.demo import generate; "
        "print(hashlib.sha256(b'\\n'.join(generate(customers=50, days=60))).hexdigest())"
    )
    digests = {
        subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True,
            env={**os.environ, "PYTHONHASHSEED": hash_seed},
        ).stdout
        for hash_seed in ("1", "2")
    }

    assert len(digests) == 1
