"""Hostile and concurrent input: generated malformed messages among the good ones, and
back-office redemptions through the API racing with ingest."""

from __future__ import annotations

import base64
import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.fault import kafka
from tests.fault.deploy import API_KEY, Expectation, deployment
from tests.fault.fuzz import interleave, malformed
from tests.fault.history import History
from tests.fault.ledger import final_outcome
from tests.fault.reference import Reference
from tests.fault.scenarios import Publisher, Result, finish

REWARDS = ("ten-percent-off", "free-shipping", "five-off", "free-product:PRF-OUD-50")


def poison(ref: Reference, workdir: Path, count: int, seed: int = 19) -> Result:
    """``count`` malformed messages interleaved with the history: each must be dead-lettered
    (in the store and on the dead-letter topic) with a reason, and the ledger must not move."""
    started = time.monotonic()
    bad = malformed(ref.history.facts, count, seed)
    records = interleave(ref.history.records, [p.record for p in bad], seed)
    failures: list[str] = []
    with deployment(workdir) as deployed:
        deployed.procs.worker(health=False)
        deployed.publish(records)
        expect = Expectation(ref.expect.event_ids, ref.expect.commands,
                             len(ref.outcome.dead_letters) + count)
        deployed.caught_up(expect, ref.catch_up_timeout)
        topic = kafka.dead_letter_topic(deployed.broker.bootstrap, expect.dead_letters)
        result = finish(deployed, ref, f"{count} malformed messages interleaved", count,
                        started)
    assert result.outcome is not None
    dead = result.outcome.dead_letters
    stored = Counter(base64.b64decode(payload) for _, payload in dead)
    for item in bad:
        value = item.record.value or b""
        if stored[value] < 1:
            failures.append(f"{item.kind} not dead-lettered: {value[:120]!r}")
        stored[value] -= 1
    empty = sum(1 for reason, _ in dead if not reason.strip())
    if empty:
        failures.append(f"{empty} dead letters without a reason")
    if len(topic) < expect.dead_letters or any(not h.get("reason") for h in topic):
        failures.append(f"the dead-letter topic has {len(topic)} records "
                        f"({sum(1 for h in topic if h.get('reason'))} with a reason), "
                        f"expected {expect.dead_letters}")
    result.failures.extend(failures)
    result.notes.append("kinds: " + ", ".join(f"{k} {n}" for k, n in
                                              sorted(Counter(p.kind for p in bad).items())))
    return result


@dataclass
class Desk:
    """Back-office clients redeeming through the API while the worker ingests."""

    url: str
    publisher: Publisher
    rng: random.Random
    answers: list[tuple[str, str, str, int, dict[str, Any]]] = field(default_factory=list)
    negatives: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def client(self, name: str, stop: threading.Event) -> None:
        rng = random.Random(self.rng.random())
        headers = {"X-API-Key": API_KEY}
        with httpx.Client(base_url=self.url, headers=headers, timeout=60) as http:
            number = 0
            while not stop.is_set():
                recent = self.publisher.recent
                if not recent:
                    time.sleep(0.05)
                    continue
                customer = (rng.choice(recent).key or b"").decode()
                number += 1
                request_id = f"{name}-{number}"
                reward = rng.choice(REWARDS)
                for _ in range(2 if rng.random() < 0.2 else 1):  # a retried request
                    self._redeem(http, customer, reward, request_id)
                self._look(http, customer)

    def _redeem(self, http: httpx.Client, customer: str, reward: str, request_id: str) -> None:
        try:
            answer = http.post(f"/members/{customer}/redemptions",
                               json={"reward": reward, "request_id": request_id})
        except httpx.HTTPError as exc:
            with self.lock:
                self.errors.append(f"{request_id}: {exc!r}")
            return
        body = answer.json() if answer.headers.get("content-type", "").startswith(
            "application/json") else {"raw": answer.text}
        with self.lock:
            self.answers.append((customer, request_id, reward, answer.status_code, body))

    def _look(self, http: httpx.Client, customer: str) -> None:
        try:
            answer = http.get(f"/members/{customer}")
        except httpx.HTTPError:
            return
        if answer.status_code == 200:
            row = answer.json()
            if row["available"] < 0 or row["pending"] < 0:
                with self.lock:
                    self.negatives.append(f"{customer}: {row}")


def redemptions(history: History, workdir: Path, clients: int = 4, seed: int = 23,
                publish_seconds: float = 15.0, store_url: str | None = None) -> Result:
    """Redemptions through the API (some retried with the same request id) racing with the
    worker applying the history; the history must end about now (redemptions happen now)."""
    started = time.monotonic()
    with deployment(workdir, store_url) as deployed:
        deployed.procs.worker(health=False)
        api = deployed.procs.api()
        publisher = Publisher(deployed, history.records, publish_seconds, chunk=100)
        desk = Desk(f"http://127.0.0.1:{api.port}", publisher, random.Random(seed))
        stop = threading.Event()
        threads = [threading.Thread(target=desk.client, args=(f"desk{i}", stop), daemon=True)
                   for i in range(clients)]
        publisher.start()
        for thread in threads:
            thread.start()
        publisher.finish_publishing()
        stop.set()
        for thread in threads:
            thread.join(120)
        deployed.wait_caught_up(Expectation(history.event_ids))
        deployed.procs.close()
        outcome = final_outcome(deployed.settings, history.end)
        progress = deployed.probe.progress()
        applied = len(progress.accepted) if progress else 0
    return judge(desk, outcome, history, deployed.sent, applied, time.monotonic() - started)


def judge(desk: Desk, outcome: Any, history: History, sent: int, applied: int,
          seconds: float) -> Result:
    failures = list(desk.negatives) + desk.errors
    granted: dict[tuple[str, str], tuple[int, str]] = {}
    statuses = Counter(status for *_, status, _ in desk.answers)
    for customer, request_id, _, status, body in desk.answers:
        key = (customer, request_id)
        if status == 201:
            seen = (body["points"], body["coupon"])
            if granted.setdefault(key, seen) != seen:
                failures.append(f"{request_id}: a retry answered {seen}, first {granted[key]}")
        elif status not in (404, 409):
            failures.append(f"{request_id}: HTTP {status} {str(body)[:200]}")
        if status >= 500 and "Traceback" in str(body):
            failures.append(f"{request_id}: a traceback in the answer")
    for key, (points, coupon) in granted.items():
        spent = outcome.redemptions.get(key, [])
        if spent != [(points, coupon)]:
            failures.append(f"{key}: answered 201 ({points}, {coupon}) but the ledger has {spent}")
    for key in outcome.redemptions.keys() - granted.keys():
        failures.append(f"{key}: in the ledger but never answered 201")
    redeemed = sum(row[3] for row in outcome.ledger.values())
    if redeemed != sum(p for p, _ in granted.values()):
        failures.append(f"the ledger shows {redeemed} points redeemed, the answers "
                        f"{sum(p for p, _ in granted.values())}")
    notes = [f"answers by status: {dict(sorted(statuses.items()))}",
             f"{len(granted)} redemptions granted"]
    return Result("API redemptions racing ingest", len(desk.answers), sent, applied, [],
                  outcome.violations, len(outcome.dead_letters), seconds, notes, failures)
