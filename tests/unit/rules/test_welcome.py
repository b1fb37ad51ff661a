from __future__ import annotations

from tests.unit.rules.builders import book, day, events, last, member, registered


def test_registration_earns_100_welcome_points() -> None:
    m = member()
    m.apply_fact(registered("e1"), book())
    assert m.available == 100 and last(m, "PointsEarned").rule == "welcome"


def test_newsletter_sign_up_earns_25_more() -> None:
    m = member()
    m.apply_fact(registered("e1", newsletter=True), book())
    assert m.available == 125
    assert [e.rule for e in events(m, "PointsEarned")] == ["welcome", "newsletter"]


def test_second_registration_earns_nothing_and_says_why() -> None:
    m = member()
    m.apply_fact(registered("e1", newsletter=True), book())
    m.apply_fact(registered("e2", day(3), newsletter=True), book())
    assert m.available == 125
    assert "already given" in last(m, "FactRecorded").outcome


def test_newsletter_sign_up_later_earns_only_the_newsletter_points() -> None:
    m = member()
    m.apply_fact(registered("e1"), book())
    m.apply_fact(registered("e2", day(3), newsletter=True), book())
    assert m.available == 125 and not events(m, "FactRecorded")


def test_registration_records_the_email_hash() -> None:
    m = member()
    m.apply_fact(registered("e1", email="ab" * 32), book())
    assert m.email_sha256 == "ab" * 32 and last(m, "Registered").email_sha256 == "ab" * 32
