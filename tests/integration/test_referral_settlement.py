"""Referral claims are decided in engine-time order, whatever order their commands reach the
referrer in: the 10-per-30-days cap rewards the same friends when claims cross on the way
(another partition, another worker, a later sweep), and no claim is decided before every
membership partition has been swept past it."""

from __future__ import annotations

from datetime import datetime, timedelta

import orjson

from engine.aggregates.commands import REFERRAL_QUALIFIED, Command
from engine.contract import COMMANDS_TOPIC
from engine.service import Incoming, Ledger
from engine.store.outbox import mark_sent, pending
from tests.support.facts import message, order, registered

FRIENDS = 12  # two more than the cap of 10 rewards per 30 days
START = datetime.fromisoformat("2025-03-01T10:00:00+03:00")


def _at(days: float) -> str:
    return (START + timedelta(days=days)).isoformat()


def friends_facts(partition: int) -> list[Incoming]:
    """Twelve friends of rita, each ordering on its own day: their points become active (and
    their claims fall due) 14 days later, all within one 30-day window."""
    out: list[Incoming] = []
    for i in range(FRIENDS):
        friend = f"friend-{i:02d}"
        out += [
            Incoming("loyalty.customers", partition, len(out),
                     registered(f"r-{friend}", friend, at=_at(i * 0.5))),
            Incoming("loyalty.referrals", partition, len(out), message(
                f"ref-{friend}", "referral.created", friend, _at(i * 0.5 + 0.1),
                {"referrer_id": "rita", "code": "RITA"})),
            Incoming("loyalty.orders", partition, len(out),
                     order(f"o-{friend}", friend, "100.00", at=_at(i * 0.5 + 0.2))),
        ]
    # later news moves engine time past every activation
    out.append(Incoming("loyalty.orders", partition, len(out),
                        order("o-late", "friend-00", "5.00", at=_at(40))))
    return out


def claims(store) -> list[Incoming]:
    """The claims the friends' activations sent, in time order, as the commands topic gives
    them (offsets in the order given)."""
    sent = [m for m in pending(store) if m.topic == COMMANDS_TOPIC]
    mark_sent(store, [m.id for m in sent])
    found = [m for m in sent if Command.from_json(m.value).type == REFERRAL_QUALIFIED]
    found.sort(key=lambda m: Command.from_json(m.value).occurred_at)
    return [Incoming(COMMANDS_TOPIC, 0, i, m.value) for i, m in enumerate(found)]


def rewarded_friends(store) -> set[str]:
    """Friends whose referral rewarded rita (from the settled answers in the outbox)."""
    out = set()
    for m in pending(store):
        command = Command.from_json(m.value)
        if m.topic == COMMANDS_TOPIC and command.data.get("outcome") == "rewarded":
            out.add(command.customer_id)
    return out


def run(store, order_of_claims) -> tuple[set[str], int]:
    ledger = Ledger(store)
    ledger.handle([Incoming("loyalty.customers", 3, 0, registered("r-rita", "rita"))])
    ledger.handle(friends_facts(0))
    delivered = claims(store)
    assert len(delivered) == FRIENDS
    for offset, index in enumerate(order_of_claims(len(delivered))):
        ledger.handle(on_partition([delivered[index]], 3, offset))
    ledger.tick()
    rita = ledger.members["rita"]
    return rewarded_friends(store), rita.available


def test_crossing_claims_reward_the_same_friends_as_claims_in_time_order(tmp_path):
    from engine.config import Settings
    from engine.store import open_store

    def fresh(name):
        return open_store(Settings(store_url=str(tmp_path / name), data_dir=tmp_path))

    in_order, reversed_order = fresh("a.sqlite"), fresh("b.sqlite")
    try:
        expected, balance = run(in_order, lambda n: range(n))
        got, got_balance = run(reversed_order, lambda n: reversed(range(n)))
    finally:
        in_order.close()
        reversed_order.close()
    # the cap: the ten earliest claims are rewarded, the two latest refused
    assert expected == {f"friend-{i:02d}" for i in range(10)}
    assert got == expected
    assert got_balance == balance == 100 + 10 * 500  # welcome bonus + ten referral rewards


def test_a_claim_waits_until_every_partition_is_swept_past_it(store):
    """Two workers on one store: the friends' worker owns partitions 0-1, rita's 2-3. Rita's
    claims wait for her own worker's sweep to pass them, then are decided in time order."""
    friends_side, rita_side = Ledger(store), Ledger(store)
    friends_side.owned, rita_side.owned = frozenset({0, 1}), frozenset({2, 3})
    rita_side.handle([Incoming("loyalty.customers", 2, 0,
                               registered("r-rita", "rita", at=_at(0)))])
    friends_side.handle(friends_facts(0))
    rita_side.handle(on_partition(reversed(claims(store)), 2))
    rita = rita_side.members["rita"]
    assert len(rita.referral_claims) == FRIENDS  # partitions 2 and 3 swept only to day 0
    assert rita_side.tick() is False  # nothing new: still waiting
    marks = {r["kafka_partition"]: r["swept_to"]
             for r in store.sql.query("SELECT * FROM sweep_marks")}
    assert set(marks) == {0, 1, 2, 3} and marks[2] < marks[0]
    # rita's worker moves on to day 41 (another member's order): its sweep passes every claim
    rita_side.handle([Incoming("loyalty.orders", 2, 0,
                               order("o-zed", "zed", "20.00", at=_at(41)))])
    assert rita.referral_claims == {}
    assert rewarded_friends(store) == {f"friend-{i:02d}" for i in range(10)}
    settles = store.sql.query("SELECT payload FROM source_facts WHERE kind = 'settle'")
    assert len(settles) == 1 and orjson.loads(settles[0]["payload"])["before"] is None
    assert store.sql.query("SELECT * FROM referral_claims") == []


def test_a_claim_waits_for_an_earlier_claim_still_on_its_way(store):
    ledger = Ledger(store)
    ledger.handle([Incoming("loyalty.customers", 2, 0, registered("r-rita", "rita", at=_at(0)))])
    ledger.handle(friends_facts(0))
    delivered = claims(store)
    ledger.handle(on_partition(delivered[1:], 2))  # the earliest claim is still on its way
    assert len(ledger.members["rita"].referral_claims) == FRIENDS - 1
    ledger.handle(on_partition(delivered[:1], 2, first_offset=FRIENDS))
    assert ledger.members["rita"].referral_claims == {}
    assert rewarded_friends(store) == {f"friend-{i:02d}" for i in range(10)}


def test_an_undecided_claim_brings_its_referrer_back_after_a_restart(store):
    """A worker taking the partition over holds the referrers with undecided claims, so they
    are decided when its sweep passes them, without waiting for a new fact of theirs."""
    first, friends_side = Ledger(store), Ledger(store)
    first.owned, friends_side.owned = frozenset({2, 3}), frozenset({0, 1})
    first.handle([Incoming("loyalty.customers", 2, 0, registered("r-rita", "rita", at=_at(0)))])
    friends_side.handle(friends_facts(0))
    first.handle(on_partition(claims(store), 2))
    waiting = store.sql.query("SELECT customer_id, kafka_partition FROM referral_claims")
    assert {(r["customer_id"], r["kafka_partition"]) for r in waiting} == {("rita", 2)}
    assert len(waiting) == FRIENDS
    taker = Ledger(store)  # a new process: nothing in memory
    taker.owned = frozenset({2, 3})
    assert taker.hold_pending({2}) == 1 and set(taker.members) == {"rita"}
    taker.handle([Incoming("loyalty.orders", 2, 1, order("o-zed", "zed", "20.00", at=_at(41)))])
    assert taker.members["rita"].referral_claims == {}
    assert len(rewarded_friends(store)) == 10


def on_partition(messages, partition: int, first_offset: int = 0) -> list[Incoming]:
    """The same records on one commands partition, at consecutive offsets in the order given."""
    return [Incoming(COMMANDS_TOPIC, partition, first_offset + i, m.value)
            for i, m in enumerate(messages)]
