"""The generated storefront history the fault scenarios replay: tens of thousands of facts for
hundreds of members (every rule exercised), as Kafka records keyed by customer."""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from engine.contract import Fact, decode, topic_for
from engine.demo.generate import DEFAULT_START, generate
from tests.fault.kafka import Record


@dataclass(frozen=True)
class History:
    """Valid facts in the order a storefront publishes them."""

    customers: int
    days: int
    seed: int
    start: datetime
    records: tuple[Record, ...]
    facts: tuple[Fact, ...]

    @property
    def end(self) -> datetime:
        """Engine time every ledger is swept to before it is compared."""
        return self.start + timedelta(days=self.days)

    @property
    def event_ids(self) -> frozenset[str]:
        return frozenset(f.event_id for f in self.facts)

    def types(self) -> Counter[str]:
        return Counter(f.type for f in self.facts)


def make_history(customers: int, days: int = 365, seed: int = 11,
                 start: datetime = DEFAULT_START) -> History:
    lines = generate(customers=customers, days=days, seed=seed, start=start, malformed=0,
                     duplicates=0)
    facts = tuple(decode(line) for line in lines)
    records = tuple(Record(topic_for(f.type), f.customer_id.encode(), line)
                    for f, line in zip(facts, lines))
    return History(customers, days, seed, start, records, facts)


def shuffled_within_key(records: Sequence[Record], seed: int) -> list[Record]:
    """The same records, each key's records in a random order; keys stay interleaved as they
    were (the n-th record of the output has the key of the n-th record of the input)."""
    rng = random.Random(seed)
    by_key: dict[bytes | None, list[Record]] = defaultdict(list)
    for record in records:
        by_key[record.key].append(record)
    for group in by_key.values():
        rng.shuffle(group)
    cursors = {key: iter(group) for key, group in by_key.items()}
    return [next(cursors[record.key]) for record in records]


def chunks(records: Sequence[Record], size: int) -> list[Sequence[Record]]:
    return [records[i:i + size] for i in range(0, len(records), size)]


def rules_exercised(event_counts: Counter[str] | dict[str, int],
                    rules: Counter[str] | dict[str, int]) -> list[str]:
    """What the history failed to exercise (empty when every rule fired at least once)."""
    wanted_events = ("PointsEarned", "PointsActivated", "PointsReversed", "PointsExpired",
                     "TierChanged", "ReferralRewarded", "ReferralRefused", "FactRecorded")
    wanted_rules = ("spend", "review", "share", "welcome", "newsletter", "referral_friend",
                    "referral_referrer", "tier_entry")
    return ([f"event {e}" for e in wanted_events if not event_counts.get(e)]
            + [f"rule {r}" for r in wanted_rules if not rules.get(r)])
