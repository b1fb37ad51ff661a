"""A batch reads the members it meets that are not in memory in one read
(``LoyaltyStore.get_members``, ``Ledger._read_members``), each exactly as ``get_member`` reads
it; the customers not in the store are not asked for again, one by one."""

from __future__ import annotations

import pytest

from engine.aggregates.member import Member
from engine.service import Incoming, Ledger, read_value
from engine.store import LoyaltyStore
from tests.support.facts import order
from tests.unit.rules.builders import T0, book, day, registered, share

RULES = book()


def _incoming(offset: int, customer: str) -> Incoming:
    value = order(f"o-{offset}", customer, "40.00")
    return Incoming("loyalty.orders", 0, offset, value,
                    decoded=read_value("loyalty.orders", value))


def _state(member: Member) -> dict[str, object]:
    return {k: v for k, v in member.__dict__.items() if not k.startswith("_")}


def test_members_read_together_are_the_members_read_one_by_one(store: LoyaltyStore):
    members = []
    for n in range(700):  # more than one read's worth of ids on SQLite
        m = Member(customer_id=f"c-{n}", timestamp=T0)
        m.apply_fact(registered(f"r-{n}", T0, customer=m.customer_id), RULES)
        if n % 3 == 0:
            m.apply_fact(share(f"s-{n}", day(1), customer=m.customer_id), RULES)
        members.append(m)
    store.save(members)
    wanted = [m.customer_id for m in members] + ["nobody", "nor-this-one"]
    read = store.get_members(wanted)
    assert set(read) == {m.customer_id for m in members}
    for m in members[::37]:
        one = store.get_member(m.customer_id)
        assert one is not None
        assert read[m.customer_id].version == one.version == m.version
        assert _state(read[m.customer_id]) == _state(one)
    assert store.get_members([]) == {}


def test_a_batch_reads_the_members_new_to_it_at_once(store: LoyaltyStore,
                                                     monkeypatch: pytest.MonkeyPatch):
    Ledger(store).handle([_incoming(n, f"c-{n % 40}") for n in range(80)])  # 40 stored
    ledger = Ledger(store)  # a fresh worker: nobody in memory
    reads: list[str] = []
    one_by_one = store.get_member
    monkeypatch.setattr(store, "get_member", lambda c: reads.append(c) or one_by_one(c))
    outcome = ledger.handle([_incoming(80 + n, f"c-{n}") for n in range(60)])  # 20 new
    assert outcome.applied == 60
    assert reads == []
    assert len(ledger.members) == 60
    assert ledger.members["c-3"].version == store.get_member("c-3").version  # type: ignore[union-attr]
