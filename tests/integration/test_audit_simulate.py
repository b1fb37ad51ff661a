"""``simulate`` against real stores: the unchanged program reproduces the live figures exactly,
a doubled spend rate doubles spend points and nothing else, and the live store is never
written."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from engine.audit.simulate import simulate
from engine.config import Settings
from engine.program.model import EPOCH, default_text
from engine.store import LoyaltyStore, open_store
from tests.support.history import build_history, edit_program

JULY = datetime(2025, 7, 1, tzinfo=UTC)
TIERS = (("silver", "1000"), ("gold", "5000"), ("platinum", "15000"))


def second_version() -> str:
    text = edit_program(default_text(), "reviews", "points", "60")
    return edit_program(text, "spend.category_multipliers", "perfume", '"2"')


def flat_program() -> str:
    """Tier multipliers of 1: spend points are exactly points_per_unit x whole units."""
    text = default_text()
    for tier, _ in TIERS:
        text = edit_program(text, f"tiers.{tier}", "multiplier", '"1.0"')
    return text


def doubled_spend(text: str) -> str:
    """Twice the points per unit, and twice the tier thresholds so that tiers move alike."""
    text = edit_program(text, "spend", "points_per_unit", "2")
    for tier, threshold in TIERS:
        text = edit_program(text, f"tiers.{tier}", "threshold", str(2 * int(threshold)))
    return text


def open_at(url: str, folder: Path) -> LoyaltyStore:
    return open_store(Settings(store_url=url, data_dir=folder))


@pytest.fixture(scope="module")
def two_versions(tmp_path_factory: pytest.TempPathFactory) -> LoyaltyStore:
    folder = tmp_path_factory.mktemp("simulate-two-versions")
    store = open_at(str(folder / "live.sqlite"), folder)
    build_history(store, customers=250, days=420, sweep_after_days=820,
                  programs=[(second_version(), JULY)])
    yield store
    store.close()


@pytest.fixture(scope="module")
def flat(tmp_path_factory: pytest.TempPathFactory) -> LoyaltyStore:
    folder = tmp_path_factory.mktemp("simulate-flat")
    store = open_at(str(folder / "live.sqlite"), folder)
    build_history(store, customers=250, days=420, sweep_after_days=820,
                  programs=[(flat_program(), EPOCH)])
    yield store
    store.close()


def live_footprint(store: LoyaltyStore) -> dict[str, int]:
    counts = {table: store.sql.query(f"SELECT COUNT(*) AS n FROM {table}")[0]["n"]
              for table in ("event_chain", "source_facts", "outbox", "dead_letters")}
    return {**counts, "events": store.max_notification_id()}


def test_the_unchanged_program_reproduces_the_live_figures_exactly(two_versions):
    before = live_footprint(two_versions)
    report = simulate(two_versions, second_version(), JULY)
    assert report.simulated.to_json() == report.live.to_json()
    assert report.simulated.balances == report.live.balances
    assert report.changes() == [] and not report.refused
    assert report.live.issued_total > 0 and report.live.redeemed > 0
    assert report.live.expired > 0 and len(report.live.tier_mix) == 4
    assert {"referral_friend", "referral_referrer"} <= set(report.live.issued)
    assert live_footprint(two_versions) == before  # only read


def test_the_unchanged_program_reproduces_a_period_too(two_versions):
    end = datetime(2025, 10, 1, tzinfo=UTC)
    report = simulate(two_versions, second_version(), JULY, end)
    assert report.as_of == end
    assert report.simulated.to_json() == report.live.to_json()
    whole = simulate(two_versions, second_version(), JULY)
    assert report.live.issued_total < whole.live.issued_total


def test_a_draft_from_july_changes_only_what_happens_from_july(two_versions):
    report = simulate(two_versions, default_text(), JULY)
    assert report.simulated.issued["review"] < report.live.issued["review"]  # 50, not 60
    assert report.simulated.issued["spend"] < report.live.issued["spend"]  # no x2 perfume
    early = simulate(two_versions, default_text(), None, JULY)
    assert early.simulated.to_json() == early.live.to_json()  # before July: the same rules


def test_a_doubled_spend_rate_doubles_spend_points_and_nothing_else(flat):
    report = simulate(flat, doubled_spend(flat_program()))
    live, sim = report.live, report.simulated
    assert live.issued["spend"] > 100_000
    assert sim.issued["spend"] == 2 * live.issued["spend"]
    assert {r: p for r, p in sim.issued.items() if r != "spend"} == \
        {r: p for r, p in live.issued.items() if r != "spend"}
    assert (sim.redeemed, sim.redemptions) == (live.redeemed, live.redemptions)
    assert sim.tier_mix == live.tier_mix and sim.churn == live.churn
    assert not report.refused
    assert sim.expired > live.expired  # the extra points, unspent, expire at the end


def test_doubled_referral_rewards_travel_between_members(flat):
    text = edit_program(flat_program(), "referrals", "friend_points", "1000")
    text = edit_program(text, "referrals", "referrer_points", "1000")
    report = simulate(flat, text)
    live, sim = report.live, report.simulated
    assert live.issued["referral_friend"] > 0
    for rule in ("referral_friend", "referral_referrer"):
        assert sim.issued[rule] == 2 * live.issued[rule]
    assert sim.issued["spend"] == live.issued["spend"]


def test_the_scratch_store_can_be_kept_and_holds_the_simulated_ledger(flat, tmp_path):
    report = simulate(flat, flat_program(), keep=tmp_path / "kept")
    assert report.scratch == str(tmp_path / "kept" / "simulation.sqlite")
    kept = open_at(report.scratch, tmp_path)
    try:
        assert kept.max_notification_id() == report.events
        assert kept.sql.query("SELECT COUNT(*) AS n FROM event_chain")[0]["n"] == report.events
    finally:
        kept.close()


def test_simulate_reads_a_postgresql_store(pg_url, tmp_path):
    store = open_at(pg_url, tmp_path)
    try:
        build_history(store, customers=50, days=400, sweep_after_days=800,
                      programs=[(second_version(), JULY)])
        report = simulate(store, second_version(), JULY)
        assert report.simulated.to_json() == report.live.to_json()
        assert report.live.members >= 45
    finally:
        store.close()
