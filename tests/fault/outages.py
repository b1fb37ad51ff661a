"""Outages of the parts the worker stands on: the database stopped and restarted under it, and
the embedded broker restarted (losing its log, offsets starting again at zero) with the
storefront re-sending everything it had sent."""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Sequence
from functools import partial
from pathlib import Path

import httpx

from tests.fault import kafka
from tests.fault.deploy import API_KEY, Deployment, deployment
from tests.fault.kafka import Record
from tests.fault.pgserver import PrivatePostgres
from tests.fault.procs import Proc, wait_until
from tests.fault.reference import Reference
from tests.fault.scenarios import Publisher, Result, finish


def health_of(worker: Proc) -> tuple[int, dict[str, object]] | None:
    if not worker.alive():
        raise AssertionError(f"{worker.name} exited during the outage:\n{worker.log()}")
    return worker.health()


def wait_health(worker: Proc, healthy: bool, part: str, timeout: float) -> dict[str, object]:
    """Until the worker's /healthz says ok (200) or unhealthy (503) naming ``part`` down."""
    answers: list[object] = []

    def check() -> dict[str, object] | None:
        answer = health_of(worker)
        answers.append(answer)
        if answer is None:
            return None
        status, body = answer
        if healthy and status == 200 and body.get("status") == "ok":
            return body
        if not healthy and status == 503 and body.get("status") == "unhealthy" \
                and body.get(part) not in (None, "ok"):
            return body
        return None
    state = "ok" if healthy else f"unhealthy with {part} down"
    try:
        found = wait_until(check, timeout, f"{worker.name} /healthz to report {state}")
    except AssertionError as exc:
        raise AssertionError(f"{exc}; its last answer: {answers[-1] if answers else None}\n"
                             f"{worker.log(15)}") from None
    return found  # type: ignore[return-value]


def _applied_at_least(deployed: Deployment, count: float) -> bool:
    return (deployed.probe.applied() or 0) >= count


def api_health(api: Proc) -> int:
    try:
        return httpx.get(f"http://127.0.0.1:{api.port}/healthz", timeout=5).status_code
    except httpx.HTTPError:
        return 0


def database_restarts(ref: Reference, workdir: Path, pg: PrivatePostgres, restarts: int = 1,
                      seed: int = 13, mode: str = "fast", down_seconds: float = 3.0) -> Result:
    """Stop the worker's PostgreSQL mid-stream (``fast``: clean shutdown that ends sessions;
    ``immediate``: a crash), keep it down a while, start it again; ``restarts`` times."""
    rng = random.Random(seed)
    started = time.monotonic()
    records = ref.history.records
    failures: list[str] = []
    with deployment(workdir, pg.url) as deployed:
        worker = deployed.procs.worker()
        wait_health(worker, True, "store", 90)
        api = deployed.procs.api()
        publisher = Publisher(deployed, records, 6.0 * restarts + 4)
        publisher.start()
        for number in range(restarts):
            target = (number + rng.uniform(0.3, 0.8)) / restarts * len(records)
            wait_until(partial(_applied_at_least, deployed, target), 180,
                       f"{target:.0f} facts applied before outage {number + 1}")
            pg.stop(mode)
            wait_health(worker, False, "store", 60)
            if api_health(api) != 503:
                failures.append(f"outage {number + 1}: the API's /healthz answered "
                                f"{api_health(api)}, not 503, with the database down")
            time.sleep(rng.uniform(0.5, down_seconds))
            pg.start()
            wait_health(worker, True, "store", 120)
        publisher.finish_publishing()
        deployed.caught_up(ref.expect, ref.catch_up_timeout)
        if api_health(api) != 200:
            failures.append(f"the API's /healthz answered {api_health(api)} after the "
                            "database came back")
        member = ref.history.facts[0].customer_id
        answer = httpx.get(f"http://127.0.0.1:{api.port}/members/{member}",
                           headers={"X-API-Key": API_KEY}, timeout=10)
        if answer.status_code != 200:
            failures.append(f"the API answered {answer.status_code} for a member after the "
                            f"database came back: {answer.text[:200]}")
        return finish(deployed, ref, f"PostgreSQL stopped ({mode}) and restarted", restarts,
                      started, failures_in=failures)


def resend_order(resend: Sequence[Record], new: Sequence[Record], rng: random.Random
                 ) -> list[Record]:
    """What a storefront sends after the broker lost its log: everything sent before again,
    mixed with new traffic; for each customer the re-sent records come before the new ones
    (so each member still sees its facts in order), across customers they interleave (so the
    new log's offsets do not line up with the old one's)."""
    draws = sorted(rng.random() for _ in resend)
    placed = [(draw, 0, i, r) for i, (draw, r) in enumerate(zip(draws, resend))]
    last_resend: dict[bytes | None, float] = {}
    for position, _, _, record in placed:
        last_resend[record.key] = max(last_resend.get(record.key, 0.0), position)
    draws = sorted(rng.random() for _ in new)
    for draw, (i, record) in zip(draws, enumerate(new)):
        placed.append((max(draw, last_resend.get(record.key, 0.0)), 1, i, record))
    return [record for *_, record in sorted(placed, key=lambda p: p[:3])]


def broker_restarts(ref: Reference, workdir: Path, restarts: int = 1, seed: int = 17) -> Result:
    """Restart the embedded broker mid-stream ``restarts`` times; it comes back empty, the
    operator creates the topics again and the storefront re-sends all it had sent."""
    rng = random.Random(seed)
    started = time.monotonic()
    records = ref.history.records
    cut = sorted(rng.sample(range(len(records) // 10, len(records) * 9 // 10), restarts))
    segments = [records[a:b] for a, b in zip([0, *cut], [*cut, len(records)])]
    failures: list[str] = []
    with deployment(workdir) as deployed:
        worker = deployed.procs.worker()
        wait_health(worker, True, "broker", 90)
        sent: list[Record] = []
        deployed.publish(segments[0])
        sent.extend(segments[0])
        for number, segment in enumerate(segments[1:], start=1):
            target = len(sent) * rng.uniform(0.5, 0.95)
            wait_until(partial(_applied_at_least, deployed, target), 180,
                       f"{target:.0f} facts applied before broker restart {number}")
            deployed.broker.stop()
            wait_health(worker, False, "broker", 60)
            time.sleep(rng.uniform(0.5, 2.0))
            deployed.broker.start()
            kafka.create_topics(deployed.broker.bootstrap)
            wait_health(worker, True, "broker", 120)
            deployed.publish(resend_order(sent, segment, rng))
            sent.extend(segment)
        deployed.caught_up(ref.expect, ref.catch_up_timeout)
        topics = Counter(r.topic for r in records)
        return finish(deployed, ref, "broker restarted empty, storefront re-sent all",
                      restarts, started, [f"history per topic: {dict(topics)}"], failures)

