"""Sizes of the fault suite and how its tests fail."""

from __future__ import annotations

import os

import pytest

from tests.fault.scenarios import Result

CUSTOMERS = int(os.environ.get("LOYALTY_FAULT_CUSTOMERS", "200"))
KILLS = int(os.environ.get("LOYALTY_FAULT_KILLS", "5"))
MALFORMED = int(os.environ.get("LOYALTY_FAULT_MALFORMED", "2000"))
DAYS = 420  # past a year, so lots expire and tiers are reviewed


def assert_held(result: Result) -> None:
    """Fail, readably, when a fact was lost or applied twice, an invariant broke, a scenario
    check failed or the final ledger differs from the reference in anything (the worker applies
    each member's facts in event-time order, whatever the order Kafka hands them over in, and a
    referrer decides its claims in due-time order: decisions 0006 and 0007)."""
    if result.failures or result.violations or result.lost or result.mismatches:
        pytest.fail(result.explain(), pytrace=False)
