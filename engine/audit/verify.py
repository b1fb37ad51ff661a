"""``loyalty audit verify``: every originator's hash chain, and every member's stored events
against a replay of its stored sources, over one consistent snapshot of the store.

Members are read in pages (their events, links and sources in three queries per page) and
checked one by one in memory; nothing is written.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from engine.aggregates.member import member_id
from engine.aggregates.program import CATALOG_ID
from engine.audit.chain import BrokenLink
from engine.audit.codec import Codec
from engine.audit.member_check import MemberCheck, MemberResult, Mismatch
from engine.audit.reads import Bounds, Page, Snapshot
from engine.config import Settings
from engine.program.model import ProgramBook
from engine.store.app import LoyaltyStore

PAGE_MEMBERS = 500
PARALLEL_FROM = 50_000  # events; below this, forking workers costs more than it saves
MAX_DETAILS = 1000


@dataclass
class VerifyReport:
    """What a verification found. ``mismatches`` holds at most MAX_DETAILS (20 per member);
    ``mismatch_count`` counts them all."""

    originators: int = 0
    members: int = 0
    events_checked: int = 0
    events_replayed: int = 0
    sources: int = 0
    mismatch_count: int = 0
    mismatches: list[Mismatch] = field(default_factory=list)
    broken_links: list[BrokenLink] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.mismatch_count == 0 and not self.broken_links

    @property
    def events_per_second(self) -> float:
        return self.events_checked / self.seconds if self.seconds > 0 else 0.0

    def add(self, result: MemberResult, sources: int) -> None:
        self.originators += 1
        self.events_checked += result.events
        self.events_replayed += result.replayed
        self.sources += sources
        if sources or result.replayed:
            self.members += 1
        self.mismatch_count += result.mismatch_count
        room = MAX_DETAILS - len(self.mismatches)
        if room > 0:
            self.mismatches.extend(result.mismatches[:room])
        if result.broken_link is not None:
            self.broken_links.append(result.broken_link)

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok, "originators": self.originators, "members": self.members,
            "events_checked": self.events_checked, "events_replayed": self.events_replayed,
            "sources": self.sources, "mismatch_count": self.mismatch_count,
            "mismatches": [m.to_json() for m in self.mismatches],
            "broken_links": [
                {"originator_id": b.originator_id, "version": b.version, "problem": b.problem,
                 "detail": b.detail} for b in self.broken_links],
            "seconds": round(self.seconds, 3),
            "events_per_second": round(self.events_per_second),
        }


def verify(
    store: LoyaltyStore,
    customer_id: str | None = None,
    *,
    jobs: int | None = None,
    page_members: int = PAGE_MEMBERS,
    on_total: Callable[[int], None] | None = None,
    progress: Callable[[int], None] | None = None,
) -> VerifyReport:
    """Verify the whole store, or one member (and the program catalog its replay uses).

    Everything is judged as of one snapshot, read page by page. With ``jobs`` > 1 that many
    forked worker processes read and check the pages (the default: one per CPU for a history
    of PARALLEL_FROM events or more)."""
    started = time.perf_counter()
    report = VerifyReport()
    with Snapshot(store) as snapshot:
        total = snapshot.count_events() if customer_id is None else 0
        if jobs is None:
            jobs = (os.cpu_count() or 1) if total >= PARALLEL_FROM else 1
        if customer_id is not None:
            ids = sorted({member_id(customer_id).hex, CATALOG_ID.hex})
        else:
            ids = snapshot.originators()
        if on_total is not None:
            on_total(total)
        context = _Context(snapshot.programs(), Codec(store.app.mapper),
                           only_present=customer_id is not None, settings=store.settings,
                           table=snapshot.table)
        if jobs <= 1:
            checked: Iterable[list[tuple[MemberResult, int]]] = (
                _check_page(context, chunk, page)
                for chunk, page in snapshot.pages(ids, page_members))
        else:
            # Workers read their pages themselves, on later snapshots bounded to what this one
            # holds: no page crosses a pipe, and reading runs in parallel too.
            context.bounds = snapshot.bounds()
            checked = _in_workers(context, ids, page_members, jobs)
        for results in checked:
            done = 0
            for result, sources in results:
                report.add(result, sources)
                done += result.events
            if progress is not None:
                progress(done)
    report.seconds = time.perf_counter() - started
    return report


@dataclass
class _Context:
    programs: ProgramBook
    codec: Codec
    only_present: bool
    settings: Settings
    table: str
    bounds: Bounds | None = None


_CONTEXT: _Context | None = None  # a forked worker's context, set by the parent before forking
_READER: Snapshot | None = None  # a worker's own snapshot, opened on its first page


def _check_page(context: _Context, chunk: list[str],
                page: Page) -> list[tuple[MemberResult, int]]:
    results = []
    for oid in chunk:
        events, links = page.events.get(oid, []), page.links.get(oid, [])
        sources = page.sources.get(oid, [])
        if context.only_present and not (events or sources or links):
            continue
        result = MemberCheck(oid, events, links, sources, context.programs, context.codec).run()
        results.append((result, len(sources)))
    return results


def _worker_page(chunk: list[str]) -> list[tuple[MemberResult, int]]:
    global _READER
    context = _CONTEXT
    assert context is not None  # set before the pool forks
    if _READER is None:
        _READER = Snapshot(None, settings=context.settings, table=context.table,
                           bounds=context.bounds)
    return _check_page(context, chunk, _READER.page(chunk))


def _in_workers(context: _Context, ids: list[str], size: int,
                jobs: int) -> Iterator[list[tuple[MemberResult, int]]]:
    """The results of each page, in page order, checked by ``jobs`` forked processes."""
    global _CONTEXT
    _CONTEXT = context  # inherited by the forked workers: nothing of it is pickled
    try:
        with multiprocessing.get_context("fork").Pool(jobs) as pool:
            chunks = [ids[start:start + size] for start in range(0, len(ids), size)]
            yield from pool.imap(_worker_page, chunks)
    finally:
        _CONTEXT = None
