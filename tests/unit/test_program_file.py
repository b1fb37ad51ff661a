from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timezone
from decimal import Decimal

import pytest
from eventsourcing.application import Application

from engine.aggregates.program import CATALOG_ID, ProgramCatalog
from engine.errors import InvalidProgram
from engine.program import default_program, default_text, parse_program
from engine.program.model import Program

JAN = datetime(2025, 1, 1, tzinfo=timezone.utc)
FEB = datetime(2025, 2, 1, tzinfo=timezone.utc)


def edited(old: str, new: str) -> str:
    text = default_text()
    assert old in text, old
    return text.replace(old, new, 1)


def refusal(text: str) -> str:
    with pytest.raises(InvalidProgram) as caught:
        parse_program(text)
    return str(caught.value)


def test_default_program_reproduces_design_section_4() -> None:
    p = default_program()
    assert (p.currency, p.points_per_unit, p.minimum_order_value) == ("SAR", 1, Decimal(0))
    assert dict(p.category_multipliers) == {} and p.pending_days == 14
    assert (p.review_points, p.review_once_per_product, p.review_verified_only) == (50, True, True)
    assert (p.share_points, p.share_cap, p.share_window_days) == (10, 3, 7)
    assert (p.welcome_points, p.newsletter_points) == (100, 25)
    assert (p.referral_friend_points, p.referral_referrer_points) == (500, 500)
    assert (p.referral_cap, p.referral_cap_window_days) == (10, 30)
    assert p.expiry_days == 365
    assert [(t.name, t.threshold, t.multiplier, t.entry_bonus) for t in p.tiers] == [
        ("bronze", 0, Decimal("1.0"), 0), ("silver", 1000, Decimal("1.25"), 100),
        ("gold", 5000, Decimal("1.5"), 250), ("platinum", 15000, Decimal("2.0"), 500)]
    assert (p.tier_window_days, p.tier_review_days, p.tier_max_downgrade) == (365, 365, 1)
    assert {name: r.points for name, r in p.rewards.items()} == {
        "ten-percent-off": 400, "free-shipping": 250, "five-off": 500, "free-product": 1000}
    assert p.rewards["ten-percent-off"].value == Decimal(10)
    assert p.rewards["free-product"].kind == "free_product"
    assert (p.churn_window_days("grocery"), p.churn_window_days("perfume"),
            p.churn_window_days("toys")) == (14, 180, 60)


def test_default_file_and_model_defaults_agree() -> None:
    assert replace(default_program(), content_hash="") == Program()
    assert len(default_program().content_hash) == 64


def test_content_hash_ignores_comments_and_layout_but_not_settings() -> None:
    base = default_program().content_hash
    assert parse_program("# mine\n" + default_text().replace(" = ", "=")).content_hash == base
    assert parse_program('currency = "SAR"\n').content_hash == base  # the defaults spelled out
    assert parse_program(edited("points = 50", "points = 60")).content_hash != base


def test_decimals_may_be_written_as_numbers_and_stay_exact() -> None:
    p = parse_program(edited('multiplier = "1.25"', "multiplier = 1.25"))
    assert p.tiers[1].multiplier == Decimal("1.25") and p.content_hash == (
        default_program().content_hash)


def test_a_file_that_is_not_toml_is_refused() -> None:
    assert "not a valid TOML file" in refusal("currency = ")


def test_missing_currency_is_refused_naming_the_key() -> None:
    assert "currency: is required" in refusal("[pending]\ndays = 3\n")


def test_a_currency_that_is_not_an_iso_code_is_refused() -> None:
    assert "currency: must be an ISO 4217 code" in refusal('currency = "riyal"\n')


def test_negative_tier_threshold_is_refused_naming_the_key() -> None:
    message = refusal(edited("threshold = 1000", "threshold = -3"))
    assert "tiers.silver.threshold: must be an integer >= 0, got -3" in message


def test_an_unknown_key_is_refused_so_typos_never_pass() -> None:
    message = refusal(edited("points_per_unit = 1", "points_per_unti = 1"))
    assert "spend.points_per_unti: unknown key" in message


def test_a_word_where_a_number_belongs_is_refused() -> None:
    message = refusal(edited('multiplier = "1.5"', 'multiplier = "lots"'))
    assert "tiers.gold.multiplier: must be a decimal number > 0" in message


def test_true_is_not_a_number_of_days() -> None:
    assert "pending.days: must be an integer" in refusal(edited("days = 14", "days = true"))


def test_a_return_window_longer_than_a_year_is_refused() -> None:
    assert "pending.days: must be an integer from 0 to 365" in refusal(
        edited("days = 14", "days = 400"))


def test_the_lowest_tier_must_start_at_zero() -> None:
    message = refusal(edited("threshold = 0", "threshold = 10"))
    assert "tiers.bronze.threshold: the lowest tier must have threshold 0" in message


def test_two_tiers_with_the_same_threshold_are_refused() -> None:
    message = refusal(edited("threshold = 5000", "threshold = 1000"))
    assert "threshold: must differ from" in message


def test_a_reward_of_an_unknown_kind_is_refused() -> None:
    message = refusal(edited('kind = "free_shipping"', 'kind = "free_lunch"'))
    assert "rewards.free-shipping.kind: must be one of" in message


def test_a_percentage_above_100_is_refused() -> None:
    message = refusal(edited('value = "10"', 'value = "110"'))
    assert "rewards.ten-percent-off.value: a percentage must be at most 100" in message


def test_a_reward_costing_nothing_is_refused() -> None:
    assert "rewards.free-shipping.points: must be an integer >= 1, got 0" in refusal(
        edited("points = 250", "points = 0"))


def test_a_section_that_is_not_a_table_is_refused() -> None:
    assert "pending: must be a table" in refusal('currency = "SAR"\npending = 3\n')


def test_every_problem_is_reported_at_once() -> None:
    text = edited("threshold = 1000", "threshold = -3").replace("days = 14", "days = -1")
    message = refusal(text)
    assert "tiers.silver.threshold" in message and "pending.days" in message


def test_publishing_records_version_hash_text_and_effective_time() -> None:
    catalog = ProgramCatalog(timestamp=JAN)
    program = catalog.publish(default_text(), JAN)
    published = catalog.pending_events[-1]
    assert type(published).__name__ == "VersionPublished"
    assert (published.version, published.content_hash) == (1, program.content_hash)
    assert (published.text, published.effective_from) == (default_text(), JAN.isoformat())
    assert catalog.id == CATALOG_ID


def test_publishing_a_version_identical_to_the_current_one_is_refused() -> None:
    catalog = ProgramCatalog(timestamp=JAN)
    catalog.publish(default_text(), JAN)
    with pytest.raises(InvalidProgram, match="identical to the current version 1"):
        catalog.publish("# same rules\n" + default_text(), FEB)


def test_a_version_effective_before_the_previous_one_is_refused() -> None:
    catalog = ProgramCatalog(timestamp=JAN)
    catalog.publish(default_text(), FEB)
    with pytest.raises(InvalidProgram, match="before version 1"):
        catalog.publish(edited("points = 50", "points = 60"), JAN)


def test_a_bad_file_publishes_nothing() -> None:
    catalog = ProgramCatalog(timestamp=JAN)
    with pytest.raises(InvalidProgram):
        catalog.publish(edited("threshold = 1000", "threshold = -3"), JAN)
    assert catalog.versions == [] and len(catalog.pending_events) == 1


def test_the_book_answers_which_version_was_in_force() -> None:
    catalog = ProgramCatalog(timestamp=JAN)
    catalog.publish(default_text(), JAN)
    catalog.publish(edited("points = 50", "points = 60"), FEB)
    programs = catalog.book()
    assert programs.in_force_at(datetime(2025, 1, 15, tzinfo=timezone.utc)).review_points == 50
    assert programs.in_force_at(FEB).review_points == 60
    assert programs.in_force_at(FEB).version == 2 and catalog.program(1).version == 1


def test_the_catalog_round_trips_through_the_event_store() -> None:
    app: Application = Application()
    catalog = ProgramCatalog(timestamp=JAN)
    catalog.publish(default_text(), JAN)
    app.save(catalog)
    loaded = app.repository.get(CATALOG_ID)
    assert loaded.versions == catalog.versions
    assert loaded.book().versions[0].content_hash == default_program().content_hash


def test_program_settings_cannot_be_changed_in_place() -> None:
    with pytest.raises(TypeError, match="read-only"):
        default_program().rewards["free-shipping"] = default_program().rewards["five-off"]
    assert default_program().rewards["free-shipping"].points == 250
