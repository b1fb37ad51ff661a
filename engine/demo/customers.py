"""Who shops at the demo storefront: registration, habits, churn, referrals and their abuse."""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from engine.demo.catalog import CATEGORIES

# Local shopping hours: quiet at night, busiest in the evening.
HOUR_WEIGHTS = (3, 2, 1, 1, 1, 1, 1, 2, 4, 6, 7, 7, 7, 7, 7, 7, 8, 9, 11, 13, 14, 14, 12, 7)


@dataclass
class Customer:
    customer_id: str
    registered_at: datetime
    categories: tuple[str, ...]  # main category first
    pace: float  # < 1 buys more often than the category's norm
    active_until: datetime  # churned customers stop buying here
    email_sha256: str | None
    newsletter: bool
    orders_at_all: bool = True
    referrer_id: str | None = None
    referral_delay_days: float = 0.0
    orders: list[tuple[datetime, dict[str, Any]]] = field(default_factory=list)


def local_time(rng: random.Random, origin: datetime, after_days: float) -> datetime:
    """A moment during shopping hours on the day ``after_days`` after ``origin``, never earlier
    than ``origin`` itself (same day, earlier hour: a few minutes after ``origin`` instead)."""
    day = (origin + timedelta(days=after_days)).replace(hour=0, minute=0, second=0, microsecond=0)
    hour = rng.choices(range(24), weights=HOUR_WEIGHTS)[0]
    moment = day + timedelta(hours=hour, minutes=rng.randrange(60), seconds=rng.randrange(60))
    if moment <= origin:
        moment = origin + timedelta(minutes=rng.randint(3, 90), seconds=rng.randrange(60))
    return moment


def email_hash(customer_id: str) -> str:
    return hashlib.sha256(f"{customer_id}@example.com".encode()).hexdigest()


def population(rng: random.Random, count: int, start: datetime, end: datetime) -> list[Customer]:
    """``count`` customers numbered in order of registration; about a third join in the first
    two weeks, the rest over the year; about a quarter churn."""
    span = (end - start) / timedelta(days=1)
    offsets = sorted(
        rng.uniform(0, min(14.0, span)) if rng.random() < 0.3 else rng.uniform(0, span * 0.9)
        for _ in range(count)
    )
    weights = [category.share for category in CATEGORIES]
    result = []
    for number, offset in enumerate(offsets, start=1):
        customer_id = f"cust-{number:04d}"
        registered = local_time(rng, start, offset)
        main = rng.choices(CATEGORIES, weights=weights)[0].name
        others = [c.name for c in CATEGORIES if c.name != main]
        categories = (main, rng.choice(others)) if rng.random() < 0.45 else (main,)
        churns = rng.random() < 0.28
        email = email_hash(customer_id) if rng.random() < 0.7 else None
        result.append(Customer(
            customer_id=customer_id,
            registered_at=registered,
            categories=categories,
            pace=rng.uniform(0.6, 1.4),
            active_until=registered + timedelta(days=rng.uniform(45, 240)) if churns else end,
            email_sha256=email,
            newsletter=email is not None and rng.random() < 0.5,
            orders_at_all=rng.random() > 0.08,
        ))
    return result


def link_referrals(rng: random.Random, people: list[Customer], end: datetime) -> None:
    """Friends who signed up through a member's code, including the abuse the rules must stop:
    an influencer over the monthly cap, two second accounts with the referrer's email hash, a
    member using their own code and an old customer claiming to be a new friend."""
    count = len(people)
    taken: set[int] = {0}
    influencer = people[0]
    if count >= 40 and influencer.registered_at + timedelta(days=60) < end:
        for index in rng.sample(range(count // 4, count), 12):
            friend = people[index]
            friend.registered_at = local_time(rng, influencer.registered_at, rng.uniform(30, 55))
            friend.referrer_id = influencer.customer_id
            taken.add(index)
    if count >= 30:
        for original_index, alt_index in ((1, count // 2), (2, count // 2 + 1)):
            original, alt = people[original_index], people[alt_index]
            original.email_sha256 = original.email_sha256 or email_hash(original.customer_id)
            alt.email_sha256 = original.email_sha256
            alt.registered_at = local_time(rng, original.registered_at, rng.uniform(10, 40))
            alt.referrer_id = original.customer_id
            taken.update((original_index, alt_index))
        own = people[count // 3]
        own.referrer_id = own.customer_id
        late = people[3]
        late.referrer_id, late.referral_delay_days = people[4].customer_id, 60.0
        taken.update((count // 3, 3, 4))
    for index in range(max(1, count // 10), count):
        friend = people[index]
        if index in taken or rng.random() >= 0.1:
            continue
        earlier = [p for p in people[:index] if p.registered_at < friend.registered_at]
        if earlier:
            friend.referrer_id = rng.choice(earlier).customer_id
    for person in people:
        if person.referrer_id is not None:
            person.orders_at_all = True
