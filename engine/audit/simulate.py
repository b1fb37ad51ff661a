"""``loyalty simulate``: replay the stored history under a draft program into a scratch store
and compare the figures with the live ledger's for the same period.

The draft is in force from ``start`` (from the beginning when None); earlier program versions
keep their periods. Every member's stored sources (facts, redemptions, sweeps, settles) are
replayed in the order they were applied. Commands between members are not replayed from the
store but produced again by the simulated members, because the draft may change them: a
command the live history also had is delivered where the live history delivered it; one only
the draft produces is delivered in engine-time order among the target's sources (a referral
claim only the draft makes is decided on arrival). Commands the live
engine had produced but not yet delivered are held back in the simulation too. Redemptions
the draft cannot honour (short balance, reward gone) and facts it refuses are counted.

The live store is only read (one snapshot); the simulated events go to a temporary SQLite
store, kept when ``keep`` names a folder.
"""

from __future__ import annotations

import heapq
import shutil
import tempfile
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
from eventsourcing.persistence import StoredEvent

from engine.aggregates.commands import Command
from engine.aggregates.member import Member, member_id
from engine.audit.codec import Codec
from engine.audit.figures import FigureFold, Figures
from engine.audit.reads import Snapshot, SourceRow
from engine.audit.replay import apply_source, parse
from engine.config import Settings
from engine.errors import LoyaltyError
from engine.program.load import parse_program
from engine.program.model import EPOCH, ProgramBook
from engine.store.app import LoyaltyStore

FLUSH_EVENTS = 5000
TOP_CHANGES = 10
PAGE_MEMBERS = 500
TIER_ORDER = ("bronze", "silver", "gold", "platinum")


@dataclass
class SimulationReport:
    draft_version: int
    start: datetime | None
    end: datetime | None
    as_of: datetime
    live: Figures
    simulated: Figures
    members: int = 0
    sources: int = 0
    events: int = 0  # simulated events
    refused: Counter[str] = field(default_factory=Counter)
    commands_held: int = 0
    seconds: float = 0.0
    replay_seconds: float = 0.0
    scratch: str | None = None  # the kept scratch store

    @property
    def events_per_second(self) -> float:
        return self.events / self.replay_seconds if self.replay_seconds > 0 else 0.0

    def changes(self, limit: int = TOP_CHANGES) -> list[dict[str, Any]]:
        """The members whose balance or tier would change most: tier moves first (by how
        many tiers), then by the size of the balance change."""
        rows: list[dict[str, Any]] = []
        live, sim = self.live.balances, self.simulated.balances
        for customer in sorted(set(live) | set(sim)):
            before, after = live.get(customer, (0, "-")), sim.get(customer, (0, "-"))
            delta = after[0] - before[0]
            if delta or before[1] != after[1]:
                rows.append({"customer_id": customer, "live_balance": before[0],
                             "simulated_balance": after[0], "change": delta,
                             "live_tier": before[1], "simulated_tier": after[1]})
        rows.sort(key=lambda r: (-abs(_rank(r["simulated_tier"]) - _rank(r["live_tier"])),
                                 -abs(r["change"]), r["customer_id"]))
        return rows[:limit]

    def to_json(self) -> dict[str, Any]:
        changed = sum(1 for c in self.changes(limit=10**9))
        return {
            "draft_version": self.draft_version,
            "from": self.start.isoformat() if self.start else None,
            "to": self.end.isoformat() if self.end else None,
            "as_of": self.as_of.isoformat(),
            "live": self.live.to_json(), "simulated": self.simulated.to_json(),
            "members": self.members, "members_changed": changed,
            "top_changes": self.changes(), "sources": self.sources, "events": self.events,
            "refused": dict(self.refused), "commands_held": self.commands_held,
            "seconds": round(self.seconds, 3), "replay_seconds": round(self.replay_seconds, 3),
            "events_per_second": round(self.events_per_second), "scratch_store": self.scratch,
        }


def _decoded(codec: Codec, oid: str, version: int, topic: str,
             state: bytes) -> tuple[str, datetime, dict[str, Any]]:
    """(class name, time, attributes) of a stored member event. Member event bodies hold JSON
    values and one datetime (the timestamp), so orjson reads them directly; anything else
    takes the mapper."""
    body = orjson.loads(state)
    stamp = body.get("timestamp")
    if isinstance(stamp, dict) and stamp.get("_type_") == "datetime_iso":
        body["timestamp"] = at = datetime.fromisoformat(stamp["_data_"])
        if not any(type(value) is dict for value in body.values()):
            return topic.rpartition(".")[2], at, body
    event = codec.decode(oid, version, topic, state)
    return type(event).__name__, event.timestamp, event.__dict__


def _rank(tier: str) -> int:
    return TIER_ORDER.index(tier) if tier in TIER_ORDER else 0


def draft_book(live: ProgramBook, draft_text: str, start: datetime | None) -> ProgramBook:
    """The live versions before ``start``, then the draft (numbered after the last live
    version) from ``start``."""
    versions = list(live.versions)
    number = (versions[-1].version if versions else 1) + 1
    draft = parse_program(draft_text, version=number, effective_from=start or EPOCH)
    if start is None:
        return ProgramBook([draft])
    earlier = [v for v in versions if v.effective_from < start]
    if not earlier:
        from engine.program.model import default_program

        earlier = [replace(default_program(), version=1)]
    return ProgramBook([*earlier, draft])


def simulate(
    store: LoyaltyStore,
    draft_text: str,
    start: datetime | None = None,
    end: datetime | None = None,
    *,
    keep: Path | None = None,
    on_total: Callable[[int], None] | None = None,
    progress: Callable[[int], None] | None = None,
) -> SimulationReport:
    """Simulate ``draft_text`` over the stored history (see the module docstring)."""
    began = time.perf_counter()
    codec = Codec(store.app.mapper)
    with Snapshot(store) as snapshot:
        live_programs = snapshot.programs()
        programs = draft_book(live_programs, draft_text, start)
        live = FigureFold(live_programs, start, end, end or EPOCH)
        sources: dict[str, list[SourceRow]] = {}
        last_time = EPOCH
        for chunk, page in snapshot.pages(snapshot.originators(), PAGE_MEMBERS):
            for oid in chunk:
                rows = [r for r in page.sources.get(oid, []) if r.from_version is not None]
                if not rows:
                    continue  # not a member (the program catalog)
                sources[oid] = rows
                for version, topic, state in page.events.get(oid, []):
                    name, at, fields = _decoded(codec, oid, version, topic, state)
                    last_time = max(last_time, at)
                    live.add(oid, name, at, fields)
        in_flight = snapshot.outbox_command_ids()
    as_of = live.as_of = end or last_time
    report = SimulationReport(draft_version=programs.current.version, start=start, end=end,
                              as_of=as_of, live=live.finish(), simulated=Figures())
    folder = Path(tempfile.mkdtemp(prefix="loyalty-simulate-"))
    try:
        scratch = LoyaltyStore(Settings(store_url=str(folder / "simulation.sqlite"),
                                        data_dir=folder))
        try:
            sim = FigureFold(programs, start, end, as_of)
            runner = _Runner(sources, programs, in_flight, sim, scratch)
            if on_total is not None:
                on_total(runner.total)
            replay_began = time.perf_counter()
            runner.run(progress)
            report.replay_seconds = time.perf_counter() - replay_began
        finally:
            scratch.close()
        report.simulated = sim.finish()
        report.members, report.sources, report.events = len(sources), runner.total, runner.events
        report.refused, report.commands_held = runner.refused, runner.held
        if keep is not None:
            keep.mkdir(parents=True, exist_ok=True)
            for part in folder.iterdir():
                shutil.copy2(part, keep / part.name)
            report.scratch = str(keep / "simulation.sqlite")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    report.seconds = time.perf_counter() - began
    return report


class _Runner:
    """Replays every member's sources under ``programs``, delivering commands between members
    (see the module docstring); each member runs until its sources end or it waits for a
    command another member has yet to produce."""

    def __init__(self, sources: dict[str, list[SourceRow]], programs: ProgramBook,
                 in_flight: set[str], fold: FigureFold, scratch: LoyaltyStore) -> None:
        self.rows, self.programs, self.in_flight = sources, programs, in_flight
        self.fold, self.scratch = fold, scratch
        self.codec = Codec(scratch.app.mapper)
        self.total = sum(len(rows) for rows in sources.values())
        self.members: dict[str, Member] = {}
        self.cursor: dict[str, int] = dict.fromkeys(sources, 0)
        self.live_commands = {r.source_id for rows in sources.values() for r in rows
                              if r.kind == "command"}
        self.produced: dict[str, Command] = {}
        self.consumed: set[str] = set()
        self.skipped: set[str] = set()
        self.waiting: dict[str, str] = {}  # command id -> the member waiting for it
        self.inbox: dict[str, list[tuple[datetime, str, Command]]] = {}
        self.done: set[str] = set()
        self.ready: deque[str] = deque(sorted(sources))
        self.pending: list[Any] = []
        self.events = 0
        self.refused: Counter[str] = Counter()
        self.held = 0
        self.progress: Callable[[int], None] | None = None
        self._progressed = 0

    def run(self, progress: Callable[[int], None] | None) -> None:
        self.progress = progress
        while True:
            while self.ready:
                self._run_member(self.ready.popleft())
            if not self.waiting:
                break
            # Everyone left waits for a command the draft does not produce (in time):
            # release the earliest wait, and deliver that command by time if it comes.
            cid, oid = min(self.waiting.items(),
                           key=lambda kv: (parse(self._row(kv[1]))[0], kv[1]))
            del self.waiting[cid]
            self.skipped.add(cid)
            self.refused["command: not produced by the draft when due"] += 1
            self.cursor[oid] += 1
            self._advance_progress(1)
            self.ready.append(oid)
        self._settle_the_rest()
        for oid in list(self.inbox):
            self._deliver_inbox(oid, None)
        self._flush(force=True)
        if self.progress is not None and self._progressed:
            self.progress(self._progressed)

    def _row(self, oid: str) -> SourceRow:
        return self.rows[oid][self.cursor[oid]]

    def _run_member(self, oid: str) -> None:
        rows = self.rows[oid]
        index = self.cursor[oid]
        while index < len(rows):
            row = rows[index]
            if row.kind == "command":
                command = self.produced.pop(row.source_id, None)
                if command is None:
                    if row.source_id not in self.skipped:
                        self.cursor[oid] = index
                        self.waiting[row.source_id] = oid
                        return
                else:
                    self.consumed.add(row.source_id)
                    self._deliver_inbox(oid, command.occurred_at)
                    self._command(oid, command)
            else:
                try:
                    parsed = parse(row)
                except LoyaltyError:
                    self.refused[f"{row.kind}: unreadable"] += 1
                else:
                    self._deliver_inbox(oid, parsed[0])
                    self._source(oid, row, parsed)
            index += 1
            self._advance_progress(1)
        self.cursor[oid] = index
        self.done.add(oid)
        self._deliver_inbox(oid, None)
        self._flush()

    def _source(self, oid: str, row: SourceRow, parsed: tuple[datetime, Any]) -> None:
        member = self.members.get(oid)
        commands: list[Command] = []
        try:
            member, commands = apply_source(member, row, self.programs, parsed)
        except LoyaltyError as exc:
            self.refused[f"{row.kind}: {type(exc).__name__}"] += 1
        if member is not None:
            self.members[oid] = member
            self._collect(oid, member)
        self._route(commands)

    def _command(self, oid: str, command: Command) -> None:
        member = self.members.get(oid)
        if member is None:
            member = self.members[oid] = Member(customer_id=command.customer_id,
                                                timestamp=command.occurred_at)
        try:
            commands = member.apply_command(command, self.programs)
            if command.command_id not in self.live_commands and member.referral_claims:
                # a claim only the draft makes has no recorded settle: decide it on arrival
                commands += member.settle_referrals(command.occurred_at, None, self.programs)
        except LoyaltyError as exc:
            self.refused[f"command: {type(exc).__name__}"] += 1
            commands = []
        self._collect(oid, member)
        self._route(commands)

    def _settle_the_rest(self) -> None:
        """Claims the recorded settles did not reach (the draft moved them): decided at the
        end, as the live engine decides them once every partition is swept past them."""
        for oid, member in sorted(self.members.items()):
            if member.referral_claims:
                until = max(claim["at"] for claim in member.referral_claims.values())
                commands = member.settle_referrals(until, None, self.programs)
                self._collect(oid, member)
                self._route(commands)

    def _route(self, commands: list[Command]) -> None:
        for command in commands:
            cid = command.command_id
            target = member_id(command.customer_id).hex
            if cid in self.live_commands and cid not in self.skipped:
                if cid not in self.consumed:
                    self.produced[cid] = command
                    waiter = self.waiting.pop(cid, None)
                    if waiter is not None:
                        self.ready.append(waiter)
                continue
            if cid in self.in_flight and cid not in self.skipped:
                self.held += 1  # the live engine had not delivered it yet either
                continue
            heapq.heappush(self.inbox.setdefault(target, []),
                           (command.occurred_at, cid, command))
            if target in self.done or target not in self.rows:
                self._deliver_inbox(target, None)

    def _deliver_inbox(self, oid: str, until: datetime | None) -> None:
        box = self.inbox.get(oid)
        while box and (until is None or box[0][0] <= until):
            _, _, command = heapq.heappop(box)
            self._command(oid, command)

    def _collect(self, oid: str, member: Member) -> None:
        events = member.collect_events()
        if not events:
            return
        add, codec, mapper = self.fold.add, self.codec, self.scratch.app.mapper
        for event in events:
            add(oid, type(event).__name__, event.timestamp, event.__dict__)
            state = codec.fast_state(event)
            self.pending.append(mapper.to_stored_event(event) if state is None else StoredEvent(
                event.originator_id, event.originator_version, codec.topic(event), state))
        self.events += len(events)

    def _flush(self, force: bool = False) -> None:
        if self.pending and (force or len(self.pending) >= FLUSH_EVENTS):
            self.scratch.app.recorder.insert_events(self.pending)  # type: ignore[attr-defined]
            self.pending = []

    def _advance_progress(self, n: int) -> None:
        self._progressed += n
        if self.progress is not None and self._progressed >= 500:
            self.progress(self._progressed)
            self._progressed = 0
