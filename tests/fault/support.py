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
    """Fail with the members that differ and every broken guarantee, readably."""
    if not result.ok:
        pytest.fail(result.explain(), pytrace=False)
