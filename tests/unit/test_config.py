"""Configuration from the environment: defaults, and a clear error for a bad value."""

from __future__ import annotations

import pytest

from engine.config import Settings
from engine.errors import ConfigurationError


def test_members_in_memory_defaults_to_a_hundred_thousand_and_reads_the_environment():
    assert Settings.from_env({}).members_in_memory == 100_000
    assert Settings.from_env({"LOYALTY_MEMBERS_IN_MEMORY": "250_000"}).members_in_memory == 250_000


@pytest.mark.parametrize("text", ["0", "-5", "lots"])
def test_members_in_memory_refuses_what_is_not_a_positive_whole_number(text):
    with pytest.raises(ConfigurationError, match="LOYALTY_MEMBERS_IN_MEMORY"):
        Settings.from_env({"LOYALTY_MEMBERS_IN_MEMORY": text})
