#!/usr/bin/env python3
"""Where the ingest path's time goes: the real worker (scripts/bench_worker.py) over a loaded
realistic workload, sampled by py-spy with native frames, then every sample put in one bucket.

    scripts/bench_profile.py --facts 100000 [--rate 100] [--raw FILE] [--markdown]

py-spy (``pip install py-spy``, not a project dependency) is attached once the worker has its
partitions and stopped when the store shows every fact applied and every projection caught up
(the same "done" as scripts/bench.py). Native frames let a sample be told apart as:

- idle: a thread waiting for work (a queue, a lock, epoll);
- GIL wait: a thread ready to run Python but waiting for the interpreter lock;
- running: everything else (Python, C, and system calls such as SQLite's writes and fsyncs),
  bucketed by the engine-level frame it is under (see BUCKETS).

Figures are thread-seconds of samples (samples / rate) and their share of all running samples;
per fact they are scaled by the worker's own CPU time per fact, measured in the same run.
Sampling with native frames slows the worker; the unprofiled rate comes from scripts/bench.py.
"""

from __future__ import annotations

import argparse
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

SCRIPTS = Path(__file__).resolve().parent
sys.path[:0] = [str(SCRIPTS.parent), str(SCRIPTS)]

import bench_ingest
import bench_workload

from engine.broker import EmbeddedBroker

# (bucket, alternatives): a sample goes to the first bucket one of whose alternatives has all
# its substrings in the stack, so the specific rules come first. Stacks are root-first
# "func (file:line)" frames joined by ";".
BUCKETS: tuple[tuple[str, tuple[tuple[str, ...], ...]], ...] = (
    ("projection: decode stored events (eventsourcing mapper)",
     (("catch_up", "Mapper.to_domain_event"),)),
    ("projection: read notifications (SQL select)", (("catch_up", "select_notifications"),)),
    ("projection: SQL writes and reads of read models", (("catch_up", "sqlite3_"),)),
    ("projection: fold (Python)", (("catch_up",),)),
    ("outbox: read, send, mark sent", (("flush_outbox",), ("engine/store/outbox.py",))),
    ("store: mapper/transcoder (to_stored_event)", (("LoyaltyStore.save", "to_stored_event"),)),
    ("store: hash chain links (event_chain)", (("LoyaltyStore.save", "write_links"),)),
    ("store: side tables (positions, source facts, outbox, dead letters)",
     (("LoyaltyStore.save", "write_side"),)),
    ("store: events INSERT + commit (eventsourcing recorder)", (("LoyaltyStore.save",),)),
    ("ledger: member load from store (repository.get)", (("get_member",),)),
    ("ledger: decode + validate (engine.contract)", (("decode (engine/contract.py",),)),
    ("ledger: sweep of members in memory", (("Ledger._sweep",),)),
    ("ledger: member apply (aggregate + rules + eventsourcing events)",
     (("apply_fact",), ("apply_command",))),
    ("ledger: source rows, dead letters, commands",
     (("_record_source",), ("_dead_letter",), ("_emit",))),
    ("ledger: other", (("Ledger.handle",),)),
    # The ingest loop's own work on the event loop (since decision 0006), before the consumer's
    # catch-all: without these its frames fell into the consumer bucket (they run under
    # asyncio/), which then read as the consumer's cost.
    ("ingest loop: held-back records listed for the sweep (Sequencer.held_back, Ingest.turn)",
     (("Sequencer.held_back",), ("Ingest.turn.<locals>",))),
    ("ingest loop: sequencer (add, release) and feed", (("engine/streams/",),)),
    ("faust/aiokafka consumer (event loop and fetcher thread)",
     (("faust/",), ("mode/",), ("aiokafka/",), ("asyncio/",))),
)
OTHER = "other"
SUB = {  # finer views inside a bucket: (name, substring)
    "eventsourcing aggregate machinery (event objects, decorators)": "eventsourcing/domain.py",
    "garbage collector": "gc_collect_main",
    "SQLite C code and its system calls": "libsqlite3",
    "fsync (fdatasync)": "fdatasync",
    "JSON Schema validation (jsonschema)": "jsonschema/",
}


def classify(stack: str) -> tuple[str, str]:
    """(state, bucket) of one sample: idle, gil (waiting for the GIL) or running."""
    frames = stack.split(";")
    if "PyThread_acquire_lock_timed" in stack or "epoll_wait" in frames[-1]:
        return "idle", ""
    if any("pthread_cond_timedwait" in frame for frame in frames[-3:]):
        return "gil", ""
    for bucket, alternatives in BUCKETS:
        if any(all(needle in stack for needle in needles) for needles in alternatives):
            return "running", bucket
    return "running", OTHER


def analyse(raw: Path) -> dict[str, object]:
    states: Counter[str] = Counter()
    buckets: Counter[str] = Counter()
    subs: dict[str, Counter[str]] = defaultdict(Counter)
    threads: Counter[str] = Counter()
    for line in raw.read_text(encoding="utf-8", errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        n = int(count)
        thread, _, rest = stack.partition(";")
        state, bucket = classify(rest)
        states[state] += n
        if state != "running":
            continue
        threads[thread.split(":")[-1].strip()] += n
        buckets[bucket] += n
        for name, needle in SUB.items():
            if needle in rest:
                subs[bucket][name] += n
    return {"states": states, "buckets": buckets, "subs": subs, "threads": threads}


def py_spy() -> str:
    beside = Path(sys.executable).parent / "py-spy"
    found = str(beside) if beside.exists() else shutil.which("py-spy")
    if found is None:
        raise SystemExit("py-spy is not installed: pip install py-spy")
    return found


def record(facts: int, rate: int, raw: Path, workdir: Path) -> dict[str, float]:
    lines = bench_workload.realistic(facts).lines
    with EmbeddedBroker(log_dir=workdir / "broker") as broker:
        ends, _ = bench_workload.publish_sync(broker.bootstrap, lines)
        store = workdir / "loyalty.sqlite"
        env = bench_ingest.child_env(
            LOYALTY_BROKER=broker.bootstrap, LOYALTY_STORE_URL=str(store),
            LOYALTY_DATA_DIR=str(workdir), LOYALTY_GROUP_ID="profile")
        names = bench_ingest.projection_names()
        table = bench_ingest.events_table(str(store), workdir)
        log = workdir / "worker.log"
        worker = bench_ingest.Child.start([sys.executable, str(SCRIPTS / "bench_worker.py")],
                                          env, log)
        try:
            while worker.event("assigned") is None:
                if worker.process.poll() is not None:
                    raise SystemExit(f"the worker exited; see {log}")
                time.sleep(0.01)
            with open(workdir / "py-spy.log", "wb") as spy_log:
                spy = subprocess.Popen(
                    [py_spy(), "record", "--pid", str(worker.process.pid), "--native",
                     "--threads", "--format", "raw", "--rate", str(rate), "--output", str(raw)],
                    stdout=subprocess.DEVNULL, stderr=spy_log)
            assigned = worker.event("assigned") or {}
            try:
                done = bench_ingest._wait_done([worker], str(store), table, ends, names, 7200,
                                               log)
            finally:
                spy.send_signal(signal.SIGINT)
                spy.wait()
        finally:
            worker.stop()
    report = worker.event("done") or {}
    total = sum(ends.values())
    return {"facts": total, "seconds": done - assigned["t"],
            "cpu_seconds": report.get("cpu", 0.0) - assigned.get("cpu", 0.0),
            "messages": report.get("messages", 0), "rss_peak": report.get("rss_peak", 0),
            "busy_seconds": report.get("busy_seconds", 0.0), "batches": _batches(store)}


def _batches(store: Path) -> int:
    """Store transactions of the run: each writes its hash-chain links with one timestamp."""
    import sqlite3

    try:
        with sqlite3.connect(store) as conn:
            return int(conn.execute(
                "SELECT COUNT(DISTINCT recorded_at) FROM event_chain").fetchone()[0])
    except sqlite3.Error:
        return 0


def render(run: dict[str, float], found: dict[str, object], rate: int) -> str:
    states: Counter[str] = found["states"]  # type: ignore[assignment]
    buckets: Counter[str] = found["buckets"]  # type: ignore[assignment]
    subs: dict[str, Counter[str]] = found["subs"]  # type: ignore[assignment]
    running = sum(buckets.values())
    cpu_per_fact = run["cpu_seconds"] / run["facts"] * 1e6
    out = [
        (f"facts {run['facts']:,}; {run['seconds']:.1f}s under the profiler "
        f"({run['facts'] / run['seconds']:,.0f} facts/s); worker CPU {run['cpu_seconds']:.1f}s "
        f"= {cpu_per_fact:,.0f} us/fact; samples at {rate} Hz: running "
        f"{states['running']:,}, GIL wait {states['gil']:,}, idle {states['idle']:,}"),
        (f"the agent was busy (ledger, outbox, projections) {run['busy_seconds']:.1f}s of "
         f"{run['seconds']:.1f}s; {run['batches']:,} store transactions of facts, "
         f"{run['messages'] / max(1, run['batches']):,.0f} messages each on average"),
        "",
        "| where | running samples | share | thread-s | us/fact (share x CPU/fact) |",
        "|---|---:|---:|---:|---:|",
    ]
    for bucket, n in buckets.most_common():
        out.append(f"| {bucket} | {n:,} | {n / running:.1%} | {n / rate:.1f} | "
                   f"{n / running * cpu_per_fact:,.0f} |")
        for name, m in subs.get(bucket, Counter()).most_common():
            out.append(f"| &nbsp;&nbsp;of which {name} | {m:,} | {m / running:.1%} | "
                       f"{m / rate:.1f} | {m / running * cpu_per_fact:,.0f} |")
    return "\n".join(out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--facts", type=int, default=100_000)
    parser.add_argument("--rate", type=int, default=100, help="samples per second")
    parser.add_argument("--raw", help="keep py-spy's raw (collapsed) stacks in this file")
    parser.add_argument("--analyse", help="only analyse this raw file (no run)")
    args = parser.parse_args()
    if args.analyse:
        blank: dict[str, float] = {"facts": 1, "seconds": 1, "cpu_seconds": 0, "busy_seconds": 0,
                                   "batches": 0, "messages": 0}
        print(render(blank, analyse(Path(args.analyse)), args.rate))
        return 0
    workdir = Path(tempfile.mkdtemp(prefix="loyalty-profile-"))
    raw = Path(args.raw) if args.raw else workdir / "ingest.raw.txt"
    run = record(args.facts, args.rate, raw, workdir)
    print(render(run, analyse(raw), args.rate))
    return 0


if __name__ == "__main__":
    sys.exit(main())
