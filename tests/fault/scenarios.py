"""The fault scenarios, shared by tests/fault (small sizes) and scripts/chaos.py (large ones).

Each runs a fresh deployment, injects its fault while the history streams in, waits until the
workers have caught up, sweeps to the history's end and compares every member's ledger with the
reference: a clean single run of the same history.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tests.fault import kafka
from tests.fault.deploy import Deployment, deployment
from tests.fault.history import chunks, shuffled_within_key
from tests.fault.kafka import Record
from tests.fault.ledger import Outcome, mismatches
from tests.fault.procs import Proc, wait_until
from tests.fault.reference import Reference


@dataclass
class Result:
    """One row of the chaos table."""

    fault: str
    injected: int
    sent: int
    applied: int
    mismatches: list[str]
    violations: list[str]
    dead_letters: int
    seconds: float
    notes: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)  # other guarantees that did not hold
    lost: int = 0  # facts the reference applied that this run never applied
    outcome: Outcome | None = field(default=None, repr=False)

    @property
    def ok(self) -> bool:
        return not self.mismatches and not self.violations and not self.failures

    def explain(self, limit: int = 15) -> str:
        lines = [(f"{self.fault}: {len(self.mismatches)} members differ from the reference, "
                  f"{len(self.violations)} invariant violations, {len(self.failures)} other "
                  "failures")]
        lines += self.failures[:limit] + self.violations[:limit] + self.mismatches[:limit]
        return "\n".join(lines + self.notes)


def finish(deployed: Deployment, ref: Reference, fault: str, injected: int, started: float,
           notes: Sequence[str] = (), failures_in: Sequence[str] = ()) -> Result:
    """Stop every process, read the outcome and compare it with the reference."""
    deployed.procs.close()
    progress = deployed.probe.progress()
    outcome = deployed.outcome(ref.history.end)
    applied = len(progress.accepted) if progress else 0
    lost = sorted(ref.accepted - (progress.accepted if progress else set()))
    failures = [deployed.stuck] if deployed.stuck else []
    failures += failures_in
    if lost:
        failures.insert(0, f"{len(lost)} facts the reference applied were never applied "
                           f"(lost), e.g. {lost[:5]}")
    return Result(fault, injected, deployed.sent, applied,
                  mismatches(ref.outcome.ledger, outcome.ledger), outcome.violations,
                  len(outcome.dead_letters), time.monotonic() - started, list(notes),
                  failures, len(lost), outcome)


class Publisher(threading.Thread):
    """A storefront publishing records in chunks at a steady pace, in the background."""

    def __init__(self, deployed: Deployment, records: Sequence[Record], seconds: float,
                 chunk: int = 200) -> None:
        super().__init__(name="storefront", daemon=True)
        self.deployed, self.parts = deployed, chunks(records, chunk)
        self.pause = seconds / max(len(self.parts), 1)
        self.error: BaseException | None = None
        self.recent: Sequence[Record] = ()  # the chunk published last

    def run(self) -> None:
        try:
            for part in self.parts:
                self.deployed.publish(part)
                self.recent = part
                time.sleep(self.pause)
        except BaseException as exc:  # noqa: BLE001  (reported by finish_publishing)
            self.error = exc

    def finish_publishing(self, timeout: float = 300.0) -> None:
        self.join(timeout)
        if self.is_alive():
            raise AssertionError(f"the storefront was still publishing after {timeout:g}s")
        if self.error is not None:
            raise AssertionError(f"the storefront failed to publish: {self.error!r}")


# -- redelivery --------------------------------------------------------------------------------

def redelivery(ref: Reference, workdir: Path, seed: int = 3) -> Result:
    """Everything published twice, then a third time shuffled within each key."""
    started = time.monotonic()
    records = ref.history.records
    with deployment(workdir) as deployed:
        deployed.procs.worker()
        deployed.publish(records)
        deployed.publish(records)
        deployed.publish(shuffled_within_key(records, seed))
        deployed.caught_up(ref.expect, ref.catch_up_timeout)
        return finish(deployed, ref, "history published 3x (3rd shuffled per key)", 2,
                      started)


# -- worker crashes ----------------------------------------------------------------------------

def worker_kills(ref: Reference, workdir: Path, kills: int, seed: int = 5,
                 seconds_per_kill: float = 4.0) -> Result:
    """SIGKILL the worker ``kills`` times at random moments while the history streams in,
    restarting it each time."""
    rng = random.Random(seed)
    started = time.monotonic()
    moments: list[str] = []
    with deployment(workdir) as deployed:
        publisher = Publisher(deployed, ref.history.records, kills * seconds_per_kill)
        publisher.start()
        for number in range(kills):
            worker = deployed.procs.worker(f"worker-{number}", health=False)
            moments.append(_kill_at_random_moment(deployed, worker, rng))
        publisher.finish_publishing()
        deployed.procs.worker("worker-last", health=False)
        deployed.caught_up(ref.expect, ref.catch_up_timeout)
        kinds = ", ".join(f"{moments.count(m)} {m}" for m in sorted(set(moments)))
        return finish(deployed, ref, "worker SIGKILLed and restarted", kills, started,
                      [f"kill moments: {kinds}"])


def _kill_at_random_moment(deployed: Deployment, worker: Proc, rng: random.Random) -> str:
    if rng.random() < 0.25:
        time.sleep(rng.uniform(0.3, 4.0))  # often before it has its partitions
        moment = "during start-up"
    else:
        before = deployed.probe.applied() or 0
        try:
            wait_until(lambda: (deployed.probe.applied() or 0) > before or not worker.alive(),
                       60, "the worker to apply something", interval=0.05)
            time.sleep(rng.uniform(0.0, 0.4))
            moment = "while applying"
        except AssertionError:
            moment = "while idle"
    if not worker.alive():
        raise AssertionError(f"{worker.name} exited by itself:\n{worker.log()}")
    worker.kill()
    return moment


# -- control: no fault -----------------------------------------------------------------------

def clean_run(ref: Reference, workdir: Path, store_url: str | None = None) -> Result:
    """No fault at all: the history published once to one worker through the real broker.
    Any difference from the reference here is the engine's, not a fault's."""
    started = time.monotonic()
    with deployment(workdir, store_url) as deployed:
        deployed.procs.worker(health=False)
        deployed.publish(ref.history.records)
        deployed.caught_up(ref.expect, ref.catch_up_timeout)
        return finish(deployed, ref, "none (control run through the broker)", 0, started)


# -- scale-out ---------------------------------------------------------------------------------

def scale_out(ref: Reference, workdir: Path, store_url: str, seed: int = 7,
              publish_seconds: float = 10.0) -> Result:
    """Two workers in one consumer group on one PostgreSQL store; one is SIGKILLed
    mid-stream and its partitions must move to the survivor."""
    rng = random.Random(seed)
    started = time.monotonic()
    records = ref.history.records
    with deployment(workdir, store_url) as deployed:
        pair = [deployed.procs.worker("worker-a", health=False),
                deployed.procs.worker("worker-b", health=False)]
        wait_until(lambda: kafka.group_members(deployed.broker.bootstrap, deployed.group) == 2
                   or not all(w.alive() for w in pair), 90, "both workers in the group")
        for worker in pair:
            if not worker.alive():
                raise AssertionError(f"{worker.name} exited:\n{worker.log()}")
        publisher = Publisher(deployed, records, publish_seconds)
        publisher.start()
        share = rng.uniform(0.25, 0.6)
        wait_until(lambda: (deployed.probe.applied() or 0) >= share * len(records), 180,
                   f"{share:.0%} of the history applied by the two workers")
        victim = rng.choice(pair)
        victim.kill()
        publisher.finish_publishing()
        deployed.caught_up(ref.expect, ref.catch_up_timeout)
        survivor = next(w for w in pair if w is not victim)
        failures = [] if survivor.alive() else [f"the survivor exited:\n{survivor.log()}"]
        return finish(deployed, ref, "1 of 2 workers SIGKILLed (PostgreSQL)", 1, started,
                      [f"{victim.name} killed after {share:.0%} of the history"], failures)
