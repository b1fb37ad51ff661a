"""The churn fold's time marks as text: the day arithmetic on fixed-width UTC texts gives what
datetime arithmetic and ``ts`` give, and the grade read from them is the one the times give."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from engine.projections.churn_fold import _days_after, at_risk_from, grade, marks
from engine.projections.support import ts

TIMES = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2090, 1, 1),
                     timezones=st.just(timezone.utc))
OFFSETS = st.sampled_from([timezone.utc, timezone(timedelta(hours=3)),
                           timezone(timedelta(hours=-5, minutes=-30))])


@given(TIMES, st.integers(min_value=0, max_value=3000))
def test_days_after_a_fixed_width_text_is_the_datetime_sum(at, days):
    assert _days_after(ts(at), days) == ts(at + timedelta(days=days))


@given(TIMES, OFFSETS, st.integers(min_value=0, max_value=3000))
def test_days_after_any_iso_text_is_the_datetime_sum(at, offset, days):
    text = at.astimezone(offset).isoformat()  # not the fixed-width form: parsed as a time
    assert _days_after(text, days) == ts(at + timedelta(days=days))


def _by_times(stats, now):
    """The grade's recency part as datetimes give it (the definition in churn_fold)."""
    start = datetime.fromisoformat(stats["last_order_at"] or stats["enrolled_at"])
    gap = timedelta(days=stats["gap_days"])
    if now <= start + gap:
        return 3, ts(start + gap)
    if now <= start + 2 * gap:
        return 2, ts(start + 2 * gap)
    return 1, None


@given(TIMES, st.one_of(st.none(), TIMES), st.integers(min_value=1, max_value=400),
       st.timedeltas(min_value=timedelta(days=-30), max_value=timedelta(days=900)))
def test_grade_from_texts_is_the_grade_from_times(enrolled, last_order, gap_days, later):
    stats = {"enrolled_at": ts(enrolled), "last_order_at": ts(last_order),
             "gap_days": gap_days, "f_score": 2, "m_score": 1}
    anchor = last_order or enrolled
    for now in (anchor + later, anchor + timedelta(days=gap_days),
                anchor + timedelta(days=2 * gap_days)):
        scored = grade(stats, now)
        assert (scored["r_score"], scored["regrade_at"]) == _by_times(stats, now)
        assert scored["at_risk_from"] == at_risk_from(stats) == marks(stats)[1] == ts(
            anchor + timedelta(days=2 * gap_days))
