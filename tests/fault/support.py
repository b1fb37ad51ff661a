"""Sizes of the fault suite and how its tests fail."""

from __future__ import annotations

import os
import re

import pytest

from tests.fault.scenarios import Result

CUSTOMERS = int(os.environ.get("LOYALTY_FAULT_CUSTOMERS", "200"))
KILLS = int(os.environ.get("LOYALTY_FAULT_KILLS", "5"))
MALFORMED = int(os.environ.get("LOYALTY_FAULT_MALFORMED", "2000"))
DAYS = 420  # past a year, so lots expire and tiers are reviewed


# The one difference the engine does not rule out yet (issue 8 stays open on it). A referrer's
# "10 rewards per 30 days" cap is judged in the order the referral commands reach it, and a
# friend's qualifying activation is sent when a sweep reaches it, which depends on where batches
# end; when two friends' commands cross, the referrer may be rewarded once more or once less
# than in the reference, and the friend with it.
REFERRAL_CAP_ORDER = (
    "known gap (issue 8 stays open): a referrer's 30-day reward cap is judged in the order "
    "referral commands arrive, which depends on sweep timing; these members differ from the "
    "reference only by whole referral rewards."
)
REFERRAL_POINTS = 500
_LINE = re.compile(r"^(?P<who>\S+): expected (?P<want>.+), got (?P<got>.+)$")


def assert_held(result: Result) -> None:
    """Fail, readably, when a fact was lost or applied twice, an invariant broke, a scenario
    check failed or the final ledger differs from the reference (the worker applies each
    member's facts in event-time order, whatever the order Kafka hands them over in). Only a
    difference by whole referral rewards is an expected failure, naming the gap above."""
    if result.failures or result.violations or result.lost:
        pytest.fail(result.explain(), pytrace=False)
    if not result.mismatches:
        return
    if all(by_referral_rewards(line) for line in result.mismatches):
        pytest.xfail(f"{REFERRAL_CAP_ORDER} {len(result.mismatches)} members, e.g.\n"
                     + "\n".join(result.mismatches[:5]))
    pytest.fail(result.explain(), pytrace=False)


def by_referral_rewards(line: str) -> bool:
    """Does this mismatch line differ by whole referral rewards (earned, and then available or
    expired), and in nothing else?"""
    match = _LINE.match(line)
    if match is None:
        return False
    want, got = _fields(match["want"]), _fields(match["got"])
    if want is None or got is None:
        return False
    earned = int(got["lifetime_earned"]) - int(want["lifetime_earned"])
    same = all(want[k] == got[k] for k in ("pending", "redeemed", "reversed", "tier"))
    spread = (int(got["available"]) - int(want["available"])
              + int(got["expired"]) - int(want["expired"]))
    return same and earned != 0 and earned % REFERRAL_POINTS == 0 and spread == earned


def _fields(text: str) -> dict[str, str] | None:
    try:
        return dict(part.split("=", 1) for part in text.split(", "))
    except ValueError:
        return None
