from __future__ import annotations

from engine.rules.shares import shares_in_window
from tests.unit.rules.builders import book, day, last, member, share


def test_share_earns_10_points() -> None:
    m = member()
    m.apply_fact(share("e1"), book())
    assert m.available == 10 and last(m, "PointsEarned").rule == "share"


def test_fourth_share_within_seven_days_earns_nothing_and_says_why() -> None:
    m = member()
    for n in range(4):
        m.apply_fact(share(f"e{n}", day(n)), book())
    assert m.available == 30
    assert "share cap reached" in last(m, "FactRecorded").outcome


def test_share_window_rolls_so_a_share_seven_days_later_earns_again() -> None:
    m = member()
    for n in range(3):
        m.apply_fact(share(f"e{n}", day(n)), book())
    m.apply_fact(share("e3", day(6.9)), book())
    m.apply_fact(share("e4", day(7.01)), book())
    assert m.available == 40


def test_shares_in_window_counts_the_half_open_window() -> None:
    times = [day(0), day(1), day(2)]
    assert shares_in_window(times, day(7), 7) == 2
    assert shares_in_window(times, day(2), 7) == 3


def test_a_program_cap_of_one_share_per_day() -> None:
    m = member()
    rules = book(share_cap=1, share_window_days=1)
    m.apply_fact(share("e1", day(0)), rules)
    m.apply_fact(share("e2", day(0.5)), rules)
    m.apply_fact(share("e3", day(1.5)), rules)
    assert m.available == 20
