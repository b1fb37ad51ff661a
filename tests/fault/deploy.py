"""One deployment under test: an embedded broker, a store (SQLite file or PostgreSQL), and the
`loyalty` processes started against them; knows when the workers have caught up."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from engine.broker import EmbeddedBroker
from engine.config import Settings
from tests.fault import kafka
from tests.fault.kafka import Record
from tests.fault.ledger import Outcome, Probe, final_outcome
from tests.fault.procs import Processes

API_KEY = "fault-suite-key-7f3a"


@dataclass
class Expectation:
    """What a caught-up store must account for: every valid fact accepted or dead-lettered, and
    at least ``dead_letters`` refused messages. (``commands``, the referral commands the
    reference applied, is reported, not waited for: a ledger that differs may differ in them.)"""

    event_ids: frozenset[str] = frozenset()
    commands: int = 0
    dead_letters: int = 0


@dataclass
class Deployment:
    workdir: Path
    broker: EmbeddedBroker
    store_url: str
    group: str
    procs: Processes
    env: dict[str, str] = field(default_factory=dict)
    sent: int = 0
    stuck: str | None = None  # why the last caught_up() gave up, if it did

    @property
    def probe(self) -> Probe:
        return Probe(self.store_url)

    @property
    def settings(self) -> Settings:
        return Settings(broker=self.broker.bootstrap, data_dir=self.workdir / "data",
                        store_url=self.store_url, api_key=API_KEY, group_id=self.group)

    def publish(self, records: Sequence[Record], timeout: float = 180.0) -> None:
        kafka.send(self.broker.bootstrap, records, timeout)
        self.sent += len(records)

    def wait_caught_up(self, expect: Expectation, timeout: float = 240.0,
                       settle: float = 2.5, stall: float = 40.0) -> None:
        """Until every consumed partition is applied up to its log end, the outbox is sent,
        ``expect`` is accounted for, and nothing has changed for ``settle`` seconds;
        AssertionError saying what lags (and the workers' last log lines) after ``timeout``."""
        failure = self.caught_up(expect, timeout, settle, stall)
        if failure is not None:
            raise AssertionError(failure)

    def caught_up(self, expect: Expectation, timeout: float = 240.0,
                  settle: float = 2.5, stall: float = 40.0) -> str | None:
        """``wait_caught_up`` that returns what went wrong instead of raising (None: caught
        up), so a scenario can still compare the ledger it got."""
        deadline = time.monotonic() + timeout
        stable_since: float | None = None
        last: tuple[int, ...] | None = None
        why: str | None = "nothing checked yet"
        moved_at, seen = time.monotonic(), None
        while time.monotonic() < deadline:
            why = self._lagging(expect)
            mark = self.probe.progress()
            if mark is not None and mark.fingerprint() != seen:
                moved_at, seen = time.monotonic(), mark.fingerprint()
            if why is not None and time.monotonic() - moved_at > stall:
                why += f" (and nothing moved in the store for {stall:g}s)"
                break
            if why is None:
                now = time.monotonic()
                fingerprint = mark.fingerprint() if mark else None
                if fingerprint is not None and fingerprint == last and stable_since is not None:
                    if now - stable_since >= settle:
                        return None
                else:
                    stable_since, last = now, fingerprint
            else:
                stable_since = last = None
            time.sleep(0.3)
        workers = [f"--- {p.name} (pid {p.pid}, alive={p.alive()}) ---\n{p.log(25)}"
                   for p in self.procs.started[-3:]]
        self.stuck = (f"the workers did not catch up: {why}\n"
                      + "\n".join(workers))
        return self.stuck

    def _lagging(self, expect: Expectation) -> str | None:
        ends = kafka.end_offsets(self.broker.bootstrap)
        if ends is None:
            return "the broker does not answer"
        progress = self.probe.progress()
        if progress is None:
            return "the store does not answer"
        behind = {k: (progress.positions.get(k, 0), end) for k, end in ends.items()
                  if progress.positions.get(k, 0) < end}
        if behind:
            return f"partitions behind their log end (applied, end): {behind}"
        if progress.unsent:
            return f"{progress.unsent} outbox messages not sent yet"
        if progress.undecided:
            return f"{progress.undecided} referral claims not decided yet"
        missing = expect.event_ids - progress.accepted - progress.dead_event_ids
        if missing:
            return f"{len(missing)} facts neither applied nor dead-lettered, e.g. {min(missing)}"
        if progress.dead_letters < expect.dead_letters:
            return f"{progress.dead_letters} of {expect.dead_letters} dead letters recorded"
        return None

    def outcome(self, history_end: object) -> Outcome:
        return final_outcome(self.settings, history_end)  # type: ignore[arg-type]


@contextmanager
def deployment(workdir: Path, store_url: str | None = None,
               env: Mapping[str, str] | None = None,
               broker: EmbeddedBroker | None = None) -> Iterator[Deployment]:
    """A fresh broker (unless given) and store; every process started is ended on exit."""
    workdir.mkdir(parents=True, exist_ok=True)
    own_broker = broker is None
    running = broker or EmbeddedBroker(log_dir=workdir / "broker")
    if own_broker:
        running.start()
    try:
        store = store_url or str(workdir / "data" / "loyalty.sqlite")
        group = f"fault-{uuid.uuid4().hex[:8]}"
        base = {
            "LOYALTY_BROKER": running.bootstrap, "LOYALTY_STORE_URL": store,
            "LOYALTY_DATA_DIR": str(workdir / "data"), "LOYALTY_API_KEY": API_KEY,
            "LOYALTY_GROUP_ID": group, "LOYALTY_REBALANCE_TIMEOUT": "1",
            **(env or {}),
        }
        kafka.create_topics(running.bootstrap)
        procs = Processes(workdir, base)
        deployed = Deployment(workdir, running, store, group, procs, base)
        try:
            yield deployed
        finally:
            procs.close()
    finally:
        if own_broker:
            running.stop()
