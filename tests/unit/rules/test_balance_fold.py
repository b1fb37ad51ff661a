from __future__ import annotations

import orjson

from engine.projections.balance_fold import fold
from tests.unit.rules.builders import T0, book, day, member, order, review


def folded(m: object, upto: int | None = None) -> dict:
    row = None
    for e in m.pending_events[:upto]:  # type: ignore[attr-defined]
        fields = {k: v for k, v in vars(e).items() if k not in ("originator_id", "timestamp")}
        row = fold(row, type(e).__name__, e.timestamp, fields)
    assert row is not None
    return row


def test_fold_starts_the_row_at_enrolment() -> None:
    row = fold(None, "Enrolled", T0, {"customer_id": "ann"})
    assert (row["customer_id"], row["available"], row["tier"], row["last_activity"]) == (
        "ann", 0, "bronze", None)


def test_fold_continues_from_a_row_read_back_from_json() -> None:
    m = member()
    m.apply_fact(order("e1", "100.00", day(0)), book())
    m.apply_fact(review("e2", when=day(20)), book())
    whole = folded(m)
    row = orjson.loads(orjson.dumps(folded(m, 4)))  # Enrolled, OrderPlaced, Earned, Activated
    for e in m.pending_events[4:]:
        fields = {k: v for k, v in vars(e).items() if k not in ("originator_id", "timestamp")}
        row = fold(row, type(e).__name__, e.timestamp, fields)
    assert row == whole and whole["available"] == 150 and whole["last_activity"] == day(20)


def test_activations_and_expiries_are_not_customer_activity() -> None:
    m = member()
    m.apply_fact(order("e1", "100.00", day(0)), book())
    m.advance(day(500), book())
    row = folded(m)
    assert row["last_activity"] == day(0) and row["expired"] == 100


def test_balance_as_of_a_time_is_the_fold_of_the_events_until_then() -> None:
    m = member()
    m.apply_fact(order("e1", "100.00", day(0)), book())
    m.apply_fact(order("e2", "50.00", day(30)), book())
    until = [i for i, e in enumerate(m.pending_events) if e.timestamp <= day(20)][-1] + 1
    row = folded(m, until)
    assert (row["available"], row["pending"], row["lifetime_earned"]) == (100, 0, 100)


def test_events_the_fold_does_not_know_change_nothing() -> None:
    before = fold(None, "Enrolled", T0, {"customer_id": "ann"})
    assert fold(before, "SomethingNew", day(1), {"points": 5}) == before
