"""Redemptions through the API racing with the worker: never negative, each exactly once."""

from __future__ import annotations

from pathlib import Path

from tests.fault.history import History
from tests.fault.inputs import redemptions
from tests.fault.support import assert_held


def test_api_redemptions_during_ingest_never_go_negative_and_land_exactly_once(
        recent_history: History, tmp_path: Path):
    result = redemptions(recent_history, tmp_path, clients=4)
    assert result.injected >= 50, result.notes
    assert any("granted" in note and not note.startswith("0 ") for note in result.notes)
    assert_held(result)
