from __future__ import annotations

import pytest

from engine.errors import RejectedFact
from tests.unit.rules.builders import book, last, member, survey


def test_survey_answer_is_recorded_with_its_score_and_earns_nothing() -> None:
    m = member()
    m.apply_fact(survey("e1", 9), book())
    assert last(m, "SurveyAnswered").score == 9 and m.lifetime_earned == 0


def test_survey_score_outside_0_to_10_is_rejected() -> None:
    m = member()
    with pytest.raises(RejectedFact, match="0 to 10"):
        m.apply_fact(survey("e1", 11), book())
