"""The figures a what-if compares: flows inside the period, stocks at its end."""

from __future__ import annotations

from engine.audit.figures import FigureFold
from tests.unit.audit.recording import Recording
from tests.unit.rules.builders import book, day, order, registered

RULES = book()


def folded(rec: Recording, start, end, as_of):
    fold = FigureFold(RULES, start, end, as_of)
    for oid, events in rec.events.items():
        for version, topic, state in events:
            fold.add_event(oid, rec.codec.decode(oid, version, topic, state))
    return fold.finish()


def story() -> Recording:
    rec = Recording(RULES)
    rec.fact(registered("reg", newsletter=True))  # 100 + 25 active at once, day 0
    rec.fact(order("o1", "300.00", day(10)))  # 300 pending until day 24
    rec.sweep("ann", day(30))
    rec.redemption("ann", "r1", "free-shipping", day(31))  # 250
    rec.sweep("ann", day(400))  # the welcome lots (125) expire on day 365, the rest day 389
    rec.fact(registered("reg-b", day(40), customer="bob"))
    return rec


def test_flows_count_only_events_stamped_inside_the_period():
    figures = folded(story(), day(5), day(35), day(35))
    assert dict(figures.issued) == {"spend": 300}
    assert (figures.redeemed, figures.redemptions, figures.expired) == (250, 1, 0)


def test_stocks_are_read_at_the_end_of_the_period():
    figures = folded(story(), None, day(35), day(35))
    assert dict(figures.issued) == {"welcome": 100, "newsletter": 25, "spend": 300}
    assert figures.members == 1  # bob enrols after the end
    assert (figures.available, figures.liability) == (425 - 250, 425 - 250)
    assert figures.balances == {"ann": (175, "bronze")}
    assert sum(figures.churn.values()) == 1


def test_the_whole_history_counts_expiries_and_every_member():
    figures = folded(story(), None, None, day(400))
    assert figures.expired == 125 + 300 - 250
    assert figures.liability == 100  # bob's welcome
    assert figures.tier_mix == {"bronze": 2}
