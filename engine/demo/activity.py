"""What one customer does over the year, as storefront facts added to a stream."""

from __future__ import annotations

import random
from datetime import timedelta
from decimal import Decimal
from typing import Any

from engine.demo.catalog import (
    ALL_SKUS,
    BY_NAME,
    CATEGORIES,
    CHANNELS,
    CURRENCY,
    FREE_SHIPPING_FROM,
    SHIPPING,
    STORE_URL,
    Category,
)
from engine.demo.customers import Customer, local_time
from engine.demo.stream import Stream

CENT = Decimal("0.01")
RATING_WEIGHTS = (5, 7, 13, 30, 45)  # 1..5 stars
SCORE_WEIGHTS = (2, 1, 1, 2, 2, 4, 6, 12, 18, 22, 30)  # 0..10: about half promoters


def money(amount: Decimal) -> str:
    return f"{amount.quantize(CENT)}"


def register(rng: random.Random, stream: Stream, person: Customer) -> None:
    """The account, then (a few minutes later) the referral code it signed up with, if any."""
    data: dict[str, Any] = {"newsletter": person.newsletter}
    if person.email_sha256 is not None:
        data["email_sha256"] = person.email_sha256
    stream.emit("customer.registered", person.registered_at, person.customer_id, data)
    if person.referrer_id is not None:
        delay = timedelta(days=person.referral_delay_days, minutes=rng.randint(2, 30))
        body = {"referrer_id": person.referrer_id, "code": f"REF-{person.referrer_id.upper()}"}
        stream.emit("referral.created", person.registered_at + delay, person.customer_id, body)


def orders(rng: random.Random, stream: Stream, person: Customer) -> None:
    """One renewal process per category the customer buys: weekly-ish for groceries, a few
    times a year for perfume; a second category is bought less often than the main one."""
    if not person.orders_at_all:
        return
    stop = min(person.active_until, stream.end)
    for rank, name in enumerate(person.categories):
        category = BY_NAME[name]
        mean_gap = category.gap_days * person.pace * (1.0 if rank == 0 else 1.6)
        first = rng.uniform(1, 10) if rank == 0 else rng.uniform(1, mean_gap)
        at = local_time(rng, person.registered_at, first)
        while at < stop:
            data = _basket(rng, stream, category)
            if stream.emit("order.placed", at, person.customer_id, data):
                person.orders.append((at, data))
            at = local_time(rng, at, max(0.5, rng.gammavariate(4.0, mean_gap / 4.0)))
    person.orders.sort(key=lambda order: order[0])


def refunds(rng: random.Random, stream: Stream, person: Customer) -> None:
    """About 6% of orders: full or one item back; a third of them after the 14-day window."""
    for at, order in person.orders:
        if rng.random() >= 0.06:
            continue
        total = Decimal(order["total"])
        amount = total if rng.random() < 0.4 else min(total, _one_item(rng, order))
        after = rng.uniform(1, 13) if rng.random() < 0.67 else rng.uniform(15, 45)
        body = {"order_id": order["order_id"], "amount": money(amount)}
        stream.emit("order.refunded", local_time(rng, at, after), person.customer_id, body)


def reviews(rng: random.Random, stream: Stream, person: Customer) -> None:
    """Verified reviews of bought products (a few reviewed twice) and some unverified ones."""
    for at, order in person.orders:
        if rng.random() >= 0.1:
            continue
        sku = rng.choice(order["lines"])["sku"]
        when = local_time(rng, at, rng.uniform(3, 14))
        _review(rng, stream, person, when, sku, verified=True)
        if rng.random() < 0.1:
            _review(rng, stream, person, local_time(rng, when, rng.uniform(5, 40)), sku, True)
    if rng.random() < 0.06:
        when = local_time(rng, person.registered_at, rng.uniform(1, 90))
        _review(rng, stream, person, when, rng.choice(ALL_SKUS), verified=False)


def shares(rng: random.Random, stream: Stream, person: Customer) -> None:
    """About one customer in six shares links, every three weeks or so; a third of those also
    have a burst of 4-6 shares within a couple of days (more than the rules reward)."""
    if rng.random() >= 0.18:
        return
    stop = min(person.active_until, stream.end)
    at = local_time(rng, person.registered_at, rng.expovariate(1 / 10))
    while at < stop:
        _share(rng, stream, person, at)
        at = local_time(rng, at, rng.expovariate(1 / 21))
    if rng.random() < 0.35:
        active_days = max(1.0, (stop - person.registered_at) / timedelta(days=1))
        at = local_time(rng, person.registered_at, rng.uniform(0, active_days))
        for _ in range(rng.randint(4, 6)):
            at += timedelta(hours=rng.uniform(0.5, 14))
            _share(rng, stream, person, at)


def surveys(rng: random.Random, stream: Stream, person: Customer) -> None:
    """A third of buyers answer the NPS question about a week after an order; some twice."""
    if not person.orders or rng.random() >= 0.35:
        return
    answers = min(len(person.orders), 2 if rng.random() < 0.15 else 1)
    for at, _ in sorted(rng.sample(person.orders, answers), key=lambda order: order[0]):
        score = rng.choices(range(11), weights=SCORE_WEIGHTS)[0]
        when = local_time(rng, at, rng.uniform(5, 9))
        stream.emit("survey.answered", when, person.customer_id, {"score": score})


def _basket(rng: random.Random, stream: Stream, category: Category) -> dict[str, Any]:
    low, high = category.lines
    picks = rng.sample(category.skus, min(len(category.skus), rng.randint(low, high)))
    lines = [_line(rng, category.name, sku, price, category.max_quantity) for sku, price in picks]
    if rng.random() < 0.12:
        other = rng.choice([c for c in CATEGORIES if c is not category])
        sku, price = rng.choice(other.skus)
        lines.append(_line(rng, other.name, sku, price, 1))
    subtotal = sum(Decimal(line["quantity"]) * Decimal(line["unit_price"]) for line in lines)
    discount = (subtotal / 10).quantize(CENT) if rng.random() < 0.1 else Decimal(0)
    shipping = Decimal(0) if subtotal >= FREE_SHIPPING_FROM else SHIPPING
    return {
        "order_id": stream.new_id("ord"),
        "currency": CURRENCY,
        "total": money(subtotal - discount + shipping),
        "shipping": money(shipping),
        "lines": lines,
    }


def _line(rng: random.Random, category: str, sku: str, price: Decimal, most: int) -> dict[str, Any]:
    quantity = 1 if most == 1 or rng.random() < 0.65 else rng.randint(2, most)
    return {"sku": sku, "category": category, "quantity": quantity, "unit_price": money(price)}


def _one_item(rng: random.Random, order: dict[str, Any]) -> Decimal:
    return Decimal(rng.choice(order["lines"])["unit_price"])


def _review(
    rng: random.Random, stream: Stream, person: Customer, at: Any, sku: str, verified: bool
) -> None:
    body = {
        "review_id": stream.new_id("rev"),
        "sku": sku,
        "rating": rng.choices(range(1, 6), weights=RATING_WEIGHTS)[0],
        "verified_purchase": verified,
    }
    stream.emit("review.posted", at, person.customer_id, body)


def _share(rng: random.Random, stream: Stream, person: Customer, at: Any) -> None:
    channel = rng.choices([c for c, _ in CHANNELS], weights=[w for _, w in CHANNELS])[0]
    sku = rng.choice(BY_NAME[rng.choice(person.categories)].skus)[0]
    url = f"{STORE_URL}/p/{sku}?utm_source={channel}&ref={person.customer_id}"
    stream.emit("share.posted", at, person.customer_id, {"channel": channel, "url": url})
