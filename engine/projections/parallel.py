"""Replay on several cores: the read models in groups, each group folded by its own forked
process over its own connection.

Each group is an ordinary ``catch_up_many`` (its rows and positions in one transaction per
page), so the result is the one a single process gives; groups share no rows. A group folds a
page without holding the write lock (``page_writes``), so the processes only queue to write.
Every group reads and decodes the whole log itself: splitting pays once the fold of a page
costs more than reading it, which it does for the balances alone.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
from collections.abc import Callable, Sequence
from typing import Any

from engine.errors import ReplayFailed
from engine.projections.runner import Projection, catch_up_many
from engine.store.app import LoyaltyStore

# The balances fold (rows and lots) costs about as much as the three others together. Its
# outbound notices are decided event by event, so any split of the log into pages gives the
# same result, and larger pages rewrite each member's rows fewer times. The churn projection's
# at-risk notices are judged against the engine time before each of a member's events, so they
# do not depend on pages either (tests/integration/test_read_side_replay.py). Pages of 100,000
# for the second group too: at 1,070,323 events its fold took 17.5 s against 28.6 s in pages of
# 10,000 (churn rewrites a member's row once per page with one of its orders), the replay as a
# whole 1.37-1.45x faster, the read models and outbox the same (BENCHMARKS.md, 2026-12-06).
GROUPS: tuple[tuple[tuple[str, ...], int | None], ...] = (
    (("balances",), 100_000),
    (("tiers", "churn", "metrics"), 100_000),
)
PARALLEL_FROM = 50_000  # events; below this, forking costs more than it saves
# SQLite page cache of each replay process. The balances group upserts every lot a page
# changes, in key order but into B-trees far larger than the default 2 MiB cache. With 64 MiB,
# one pair at 1,070,323 events gave writes of 6.5 s instead of 7.4 s, for 66 MiB more memory;
# seven pairs at 300,000 events, 1.03x (BENCHMARKS.md, 2026-12-06, night).
REPLAY_CACHE_MIB = 64


def catch_up_split(store: LoyaltyStore, chosen: Sequence[Projection], *, page: int,
                   progress: Callable[[int], None] | None = None) -> int:
    """``catch_up_many`` of ``chosen``, in one process per group of GROUPS when there are two
    cores, two groups to run and PARALLEL_FROM events to read; returns the events read."""
    by_name = {p.name: p for p in chosen}
    groups = [([by_name[n] for n in names if n in by_name], size or page)
              for names, size in GROUPS]
    grouped = {n for names, _ in GROUPS for n in names}
    groups.append(([p for p in chosen if p.name not in grouped], page))
    groups = [(group, size) for group, size in groups if group]
    if (len(groups) < 2 or (os.cpu_count() or 1) < 2
            or store.max_notification_id() < PARALLEL_FROM):
        return catch_up_many(store, chosen, page=page, progress=progress)
    return _in_processes(store, groups, progress)


def _in_processes(store: LoyaltyStore, groups: list[tuple[list[Projection], int]],
                  progress: Callable[[int], None] | None) -> int:
    context = multiprocessing.get_context("fork")
    messages: Any = context.Queue()
    workers = [context.Process(target=_group, args=(store.settings, group, size, messages,
                                                    index == 0))
               for index, (group, size) in enumerate(groups)]
    for worker in workers:
        worker.start()
    read, failures, finished = 0, [], 0
    try:
        while finished < len(workers):
            try:
                kind, value = messages.get(timeout=1.0)
            except queue.Empty:
                if any(w.exitcode not in (None, 0) for w in workers) and messages.empty():
                    failures.append("a replay process died without a word")
                    break
                continue
            if kind == "progress" and progress is not None:
                progress(value)
            elif kind == "done":
                finished += 1
                read = max(read, value)
            elif kind == "failed":
                finished += 1
                failures.append(value)
    finally:
        for worker in workers:
            worker.join(timeout=None if not failures else 5.0)
            if worker.is_alive():
                worker.terminate()
    if failures:
        raise ReplayFailed(f"the replay failed: {'; '.join(failures)}; the read models "
                               "stay at the last page written, run the replay again")
    return read


def _group(settings: Any, group: list[Projection], page: int, messages: Any,
           report: bool) -> None:
    """A forked process: its own store (nothing of the parent's connections is used)."""
    try:
        own = LoyaltyStore(settings)
        own.sql.page_cache(REPLAY_CACHE_MIB)
        try:
            read = catch_up_many(own, group, page=page, progress=(
                (lambda n: messages.put(("progress", n))) if report else None))
        finally:
            own.close()
        messages.put(("done", read))
    except BaseException as exc:  # noqa: BLE001  (reported to the parent, which raises)
        names = ", ".join(p.name for p in group)
        messages.put(("failed", f"{names}: {type(exc).__name__}: {exc}"))
