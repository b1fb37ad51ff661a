#!/usr/bin/env python3
"""The ingest path's per-fact costs by component, measured by instrumenting the engine in this
process (no Kafka, no faust): a cross-check of the py-spy profile that a loaded machine cannot
blur, because it counts each component's own thread CPU time.

    scripts/bench_breakdown.py --facts 100000 [--batch 2000]

It does what the worker does after faust hands over a batch: ``Ledger.handle`` on batches of
records (topic by type, partition by key, consecutive offsets), then the outbox (commands are fed
back as the next batch's records, as Kafka would deliver them) and ``catch_up_all``. Each named
engine or library function is wrapped to add its wall and CPU (``time.thread_time``) time; the
wrappers cost about a microsecond a call, which the "calls" column lets one discount. Garbage
collections are timed too (``gc.callbacks``); they happen inside the components, so their time
is also inside those components' figures. With ``--plain`` only the per-batch calls are timed
(handle, outbox, catch-up): the figures to compare totals by, since the per-event wrappers add
their own cost (over a million calls in 100,000 facts) to every total.
"""

from __future__ import annotations

import argparse
import gc
import inspect
import itertools
import sys
import tempfile
import time
import zlib
from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

SCRIPTS = Path(__file__).resolve().parent
sys.path[:0] = [str(SCRIPTS.parent), str(SCRIPTS)]

import bench_workload

from engine.config import Settings
from engine.contract import COMMANDS_TOPIC

PARTITIONS = 4
Totals = dict[str, list[float]]  # name -> [calls, wall seconds, cpu seconds]


def timed(totals: Totals, name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        wall, cpu = time.perf_counter(), time.thread_time()
        try:
            return fn(*args, **kwargs)
        finally:
            entry = totals[name]
            entry[0] += 1
            entry[1] += time.perf_counter() - wall
            entry[2] += time.thread_time() - cpu
    wrapper.__wrapped__ = fn  # type: ignore[attr-defined]
    return wrapper


def instrument(totals: Totals) -> None:
    """Wrap the functions of the hot path in place (this process only)."""
    import eventsourcing.persistence as es_persistence
    import eventsourcing.sqlite as es_sqlite

    from engine import service
    from engine.aggregates.member import Member
    from engine.projections import registry
    from engine.store import recorders
    from engine.store.app import LoyaltyStore

    targets: list[tuple[Any, str, str]] = [
        (service, "decode", "ledger: decode + validate"),
        (LoyaltyStore, "get_member", "ledger: member load from store"),
        (Member, "apply_fact", "ledger: member apply (facts)"),
        (Member, "apply_command", "ledger: member apply (commands)"),
        (service.Ledger, "_sweep", "ledger: sweep of members in memory"),
        (service.Ledger, "_record_source", "ledger: source rows"),
        (LoyaltyStore, "save", "store: save (total)"),
        (es_persistence.Mapper, "to_stored_event", "store: mapper to_stored_event"),
        (recorders, "write_side", "store: side tables"),
        (recorders, "_insert_rows", "store: events INSERT"),
        (recorders, "write_links", "store: hash chain links"),
        (es_sqlite.SQLiteApplicationRecorder, "select_notifications",
         "projection: select notifications"),
        (es_persistence.Mapper, "to_domain_event", "projection: mapper to_domain_event"),
    ]
    for projection in registry.projections():
        targets.append((type(projection), "apply_page",
                        f"projection: {projection.name} apply_page"))
    for owner, attr, name in targets:
        original = getattr(owner, attr, None)
        if original is None:
            print(f"(not measured: {name}; {owner.__name__}.{attr} is gone)", file=sys.stderr)
            continue
        wrapped = timed(totals, name, original)
        if isinstance(inspect.getattr_static(owner, attr), staticmethod):
            wrapped = staticmethod(wrapped)  # type: ignore[assignment]
        setattr(owner, attr, wrapped)


def records(lines: list[bytes]) -> list[Any]:
    from engine.service import Incoming

    offsets: dict[tuple[str, int], int] = defaultdict(int)
    out = []
    for line in lines:
        topic, key, _ = bench_workload.route(line)
        partition = zlib.crc32(key or b"") % PARTITIONS
        offset = offsets[(topic, partition)]
        offsets[(topic, partition)] += 1
        out.append(Incoming(topic, partition, offset, line))
    return out


def watch_gc(totals: Totals) -> None:
    """Time every garbage collection (it runs inside whatever component allocated last, so
    it is also part of those components' figures)."""
    started: list[tuple[float, float]] = []

    def callback(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            started.append((time.perf_counter(), time.thread_time()))
        elif started:
            wall, cpu = started.pop()
            entry = totals[f"gc: generation {info['generation']} collections"]
            entry[0] += 1
            entry[1] += time.perf_counter() - wall
            entry[2] += time.thread_time() - cpu

    gc.callbacks.append(callback)


Snapshot = tuple[int, float, dict[str, float]]  # facts done, CPU so far, CPU by component


def run(facts: int, batch: int, workdir: Path, gc_mode: str = "default", segments: int = 1,
        plain: bool = False) -> tuple[Totals, dict[str, float], list[Snapshot]]:
    totals: Totals = defaultdict(lambda: [0, 0.0, 0.0])
    if not plain:
        instrument(totals)
        watch_gc(totals)
    from engine.projections.registry import catch_up_all
    from engine.service import Incoming, Ledger
    from engine.store import open_store
    from engine.store.outbox import mark_sent, pending

    incoming = records(bench_workload.realistic(facts).lines)
    store = open_store(Settings(store_url=str(workdir / "loyalty.sqlite"), data_dir=workdir))
    ledger = Ledger(store)
    handle = timed(totals, "ledger: handle (total)", ledger.handle)
    outbox = timed(totals, "outbox: pending + mark sent", lambda: _outbox(store, pending,
                                                                          mark_sent))
    catch_up = timed(totals, "projection: catch_up_all (total)", catch_up_all)
    command_offsets: dict[int, int] = defaultdict(int)
    fed_back: list[Any] = []
    if gc_mode == "off":
        gc.disable()
    wall, cpu = time.perf_counter(), time.thread_time()
    snapshots: list[Snapshot] = [(0, 0.0, {})]
    every = max(batch, len(incoming) // max(1, segments))
    for start in range(0, len(incoming), batch):
        if gc_mode == "freeze":
            gc.freeze()  # what survived a batch (members, caches) is never traversed again
        handle(fed_back + incoming[start:start + batch])
        fed_back = []
        for message in outbox():
            partition = zlib.crc32(message.key) % PARTITIONS
            fed_back.append(Incoming(COMMANDS_TOPIC, partition, command_offsets[partition],
                                     message.value))
            command_offsets[partition] += 1
        catch_up(store)
        done = min(start + batch, len(incoming))
        if done - snapshots[-1][0] >= every or done == len(incoming):
            snapshots.append((done, time.thread_time() - cpu,
                              {name: entry[2] for name, entry in totals.items()}))
    while fed_back:
        handle(fed_back)
        fed_back = []
        for message in outbox():
            partition = zlib.crc32(message.key) % PARTITIONS
            fed_back.append(Incoming(COMMANDS_TOPIC, partition, command_offsets[partition],
                                     message.value))
            command_offsets[partition] += 1
        catch_up(store)
    overall = {"facts": float(len(incoming)), "wall": time.perf_counter() - wall,
               "cpu": time.thread_time() - cpu, "events": float(store.max_notification_id()),
               "frozen": float(gc.get_freeze_count()),
               "full": float(getattr(getattr(ledger, "heap", None), "full_collections", 0))}
    store.close()
    return totals, overall, snapshots


def render_segments(snapshots: list[Snapshot], top: int = 12) -> str:
    """CPU us per fact of the biggest components in each segment of the run, to show which
    costs grow as members and history accumulate."""
    if len(snapshots) < 3:
        return ""
    last = snapshots[-1][2]
    names = sorted((n for n in last if "(total)" not in n), key=lambda n: -last[n])[:top]
    pairs = list(itertools.pairwise(snapshots))
    header = " | ".join(f"{a[0] // 1000:,}k-{b[0] // 1000:,}k" for a, b in pairs)
    out = [f"| CPU us/fact, by facts done | {header} |", "|---|" + "---:|" * len(pairs)]
    rows = [("all (thread CPU)", [(b[1] - a[1]) / (b[0] - a[0]) * 1e6 for a, b in pairs])]
    rows += [(n, [(b[2].get(n, 0.0) - a[2].get(n, 0.0)) / (b[0] - a[0]) * 1e6
                  for a, b in pairs]) for n in names]
    out += [f"| {name} | " + " | ".join(f"{v:,.1f}" for v in values) + " |"
            for name, values in rows]
    return "\n".join(out)


def micro(workdir: Path, limit: int = 50_000) -> str:
    """Per event: eventsourcing's mapper (both ways) against orjson on the same stored events.
    orjson alone does not round-trip the library's types (UUID, datetime, Decimal come back as
    strings), so this bounds what a leaner transcoder could save; it is not a drop-in."""
    import orjson

    from engine.store import open_store

    store = open_store(Settings(store_url=str(workdir / "loyalty.sqlite"), data_dir=workdir))
    try:
        notifications = store.app.recorder.select_notifications(  # type: ignore[attr-defined]
            start=1, limit=limit)
        mapper = store.app.mapper
        # The library's own functions, not the timing wrappers run() put around them.
        encode = inspect.unwrap(type(mapper).to_stored_event)
        decode = inspect.unwrap(type(mapper).to_domain_event)
        events = [decode(mapper, n) for n in notifications]

        def per_event(fn: Callable[[Any], Any], items: Sequence[Any]) -> float:
            started = time.thread_time()
            for item in items:
                fn(item)
            return (time.thread_time() - started) / len(items) * 1e6

        def plain(event: Any) -> bytes:
            return orjson.dumps({k: v for k, v in event.__dict__.items()
                                 if k not in ("originator_id", "originator_version")},
                                option=orjson.OPT_PASSTHROUGH_DATACLASS, default=str)

        rows = [
            ("mapper.to_stored_event (eventsourcing JSONTranscoder)",
             per_event(lambda e: encode(mapper, e), events)),
            ("orjson.dumps of the same event fields", per_event(plain, events)),
            ("mapper.to_domain_event", per_event(lambda n: decode(mapper, n), notifications)),
            ("orjson.loads of the stored state", per_event(lambda n: orjson.loads(n.state),
                                                           notifications)),
        ]
    finally:
        store.close()
    out = [f"| per stored event ({len(notifications):,} events) | CPU us |", "|---|---:|"]
    out += [f"| {name} | {value:.1f} |" for name, value in rows]
    return "\n".join(out)


def _outbox(store: Any, pending: Any, mark_sent: Any) -> list[Any]:
    messages = pending(store)
    mark_sent(store, [m.id for m in messages])
    return [m for m in messages if m.topic == COMMANDS_TOPIC]


def render(totals: Totals, overall: dict[str, float]) -> str:
    facts = overall["facts"]
    out = [(f"{facts:,.0f} facts -> {overall['events']:,.0f} events; "
           f"{overall['wall']:.1f}s wall, {overall['cpu']:.1f}s CPU "
           f"({facts / overall['wall']:,.0f} facts/s; {overall['wall'] / facts * 1e6:,.0f} us "
           f"wall and {overall['cpu'] / facts * 1e6:,.0f} us CPU per fact)"),
           (f"objects frozen at the end: {overall['frozen']:,.0f}; full collections by the "
            f"ledger's heap policy: {overall['full']:,.0f}"), "",
           "| component | calls | wall us/fact | CPU us/fact | share of CPU |",
           "|---|---:|---:|---:|---:|"]
    for name in sorted(totals, key=lambda n: (n.split(":")[0], -totals[n][2])):
        calls, wall, cpu = totals[name]
        out.append(f"| {name} | {calls:,.0f} | {wall / facts * 1e6:,.1f} | "
                   f"{cpu / facts * 1e6:,.1f} | {cpu / overall['cpu']:.1%} |")
    return "\n".join(out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--facts", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=2000)
    parser.add_argument("--gc", choices=("default", "freeze", "off"), default="default",
                        help="an experiment: gc.freeze() before every batch as well (the "
                             "ledger's own policy, engine/heap.py, runs in every mode), or no "
                             "collector")
    parser.add_argument("--micro", action="store_true",
                        help="also time the library's mapper against orjson on the stored events")
    parser.add_argument("--segments", type=int, default=1,
                        help="also show CPU per fact in this many consecutive parts of the run")
    parser.add_argument("--plain", action="store_true",
                        help="time only the per-batch calls (handle, outbox, catch-up): no "
                             "wrapper around the per-event functions, whose own cost (two "
                             "thread_time() calls each, millions of calls) inflates the totals")
    parser.add_argument("--keep", type=Path, default=None, metavar="DIR",
                        help="write the store into this (new or empty) folder and keep it, "
                             "e.g. for scripts/store_digest.py")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="loyalty-breakdown-") as folder:
        workdir = Path(folder)
        if args.keep is not None:
            args.keep.mkdir(parents=True, exist_ok=True)
            if any(args.keep.iterdir()):
                parser.error(f"--keep {args.keep} is not empty")
            workdir = args.keep
        totals, overall, snapshots = run(args.facts, args.batch, workdir, args.gc,
                                         args.segments, args.plain)
        print(f"garbage collector: {args.gc}" + ("; plain (per-batch timers only)"
                                                   if args.plain else ""))
        print(render(totals, overall))
        if args.segments > 1:
            print()
            print(render_segments(snapshots))
        if args.micro:
            print()
            print(micro(workdir))
    return 0


if __name__ == "__main__":
    sys.exit(main())
