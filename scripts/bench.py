#!/usr/bin/env python3
"""The engine's benchmark suite (issue 6): each path and its baseline measured in the same run.

    scripts/bench.py                  # full run: 1,000,000 facts, 1,000,000 enrolled members
    scripts/bench.py --quick          # ~20,000 facts; a couple of minutes
    scripts/bench.py --paths ingest,replay --facts 200000 --json

Paths (``--paths``, comma-separated; default all):

    ingest   facts from Kafka topics to committed events with every projection caught up, one
             worker process, SQLite (WAL); baseline: a faust agent that only counts, on the same
             broker in the same run; ceiling: aiokafka consume + orjson decode
    pg       the same on PostgreSQL (a fresh database per run), two workers against one
    replay   rebuild every projection from the stored history; baseline: eventsourcing reading
             and decoding the notification log
    audit    ``engine.audit.verify`` over the same history (skipped when absent)
    http     GET /members/{id} on ``loyalty api`` at 500 requests/s; baseline: GET /healthz
    memory   worker RSS after enrolling ``--members`` members

replay, audit and http read the store the ingest path wrote (it runs first when they are asked
for). Each worker, baseline consumer, API and replay runs in its own process; this process only
generates, publishes, polls the store and drives HTTP. It is not a test: nothing here fails on a
slow figure; the table says whether each target is met.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

SCRIPTS = Path(__file__).resolve().parent
sys.path[:0] = [str(SCRIPTS.parent), str(SCRIPTS)]

import bench_http
import bench_workload
from bench_ingest import (
    BenchError,
    Child,
    child_env,
    fresh_database,
    python,
    run_consumer,
    run_ingest,
)

from engine.broker import EmbeddedBroker

PATHS = ("ingest", "pg", "replay", "audit", "http", "memory")
GIB = 1024**3
MIB = 1024**2
INGEST_TARGET = 20_000
INGEST_TARGET_FACTS = 1_000_000
REPLAY_TARGET = 100_000
AUDIT_TARGET = 50_000
P99_TARGET_MS = 10.0
RSS_TARGET = 1.5 * GIB
MEMORY_TARGET_MEMBERS = 1_000_000


@dataclass
class Row:
    path: str
    figure: str
    baseline: str = "-"
    ratio: str = "-"
    target: str = "-"
    met: str = "-"
    note: str = ""
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class Run:
    args: argparse.Namespace
    workdir: Path
    rows: list[Row] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    workload: bench_workload.Workload | None = None
    sqlite_store: Path | None = None
    faust_rate: float | None = None
    ingest_failed: str | None = None
    failed: bool = False

    def log(self, name: str) -> Path:
        return self.workdir / f"{name}.log"


def say(message: str) -> None:
    sys.stderr.write(f"[{time.strftime('%H:%M:%S')}] {message}\n")
    sys.stderr.flush()


def rate(value: float | None, unit: str = "/s") -> str:
    return "-" if value is None else f"{value:,.0f}{unit}"


def yes(flag: bool) -> str:
    return "yes" if flag else "NO"


# -- paths ------------------------------------------------------------------------------------


def workload(run: Run) -> bench_workload.Workload:
    if run.workload is None:
        started = time.perf_counter()
        cache = Path(run.args.workload_cache) if run.args.workload_cache else None
        run.workload = bench_workload.realistic(run.args.facts, seed=run.args.seed,
                                                cache_dir=cache)
        w = run.workload
        say(f"workload: {w.facts:,} facts, {len(w.customers):,} members "
            f"({time.perf_counter() - started:.1f}s to generate)")
        run.details["workload"] = {"facts": w.facts, "members": len(w.customers),
                                   "mix": dict(w.mix.most_common()), "seed": run.args.seed}
    return run.workload


def loaded_broker(run: Run, name: str, lines: list[bytes]) -> tuple[EmbeddedBroker,
                                                                    dict[str, int]]:
    broker = EmbeddedBroker(log_dir=run.workdir / f"broker-{name}").start()
    ends, seconds = bench_workload.publish_sync(broker.bootstrap, lines)
    say(f"{name}: published {sum(ends.values()):,} messages in {seconds:.1f}s")
    return broker, ends


def fresh_store(store: Path) -> Path:
    """``store``, with whatever an earlier run left there removed: the worker would take that
    store's positions against a new broker, reset them and apply the facts again."""
    for leftover in (store, *(store.with_name(store.name + end) for end in ("-wal", "-shm"))):
        if leftover.exists():
            say(f"removing {leftover} from an earlier run")
            leftover.unlink()
    return store


def path_ingest(run: Run) -> None:
    try:
        _ingest(run)
    except Exception as exc:
        run.ingest_failed = f"{type(exc).__name__}: {exc}"
        raise


def _ingest(run: Run) -> None:
    w = workload(run)
    broker, ends = loaded_broker(run, "ingest", w.lines)
    expected = sum(ends.values())
    try:
        faust = run_consumer("faust", broker.bootstrap, expected, run.log("faust"))
        say(f"faust counting agent: {faust['messages']:,} in {faust['seconds']:.1f}s")
        ceiling = run_consumer("aiokafka", broker.bootstrap, expected, run.log("aiokafka"))
        say(f"aiokafka + orjson: {ceiling['messages']:,} in {ceiling['seconds']:.1f}s")
        store = fresh_store(run.workdir / "ingest" / "loyalty.sqlite")
        result = run_ingest(broker.bootstrap, ends, str(store), store.parent,
                            run.log("worker-sqlite"))
    finally:
        broker.stop()
    run.sqlite_store = store
    run.faust_rate = faust["rate"]
    say(f"ingest SQLite: {result['facts']:,} facts in {result['seconds']:.1f}s")
    figure, base = result["rate"], faust["rate"]
    met = figure >= INGEST_TARGET and figure >= 5 * base
    note = "" if result["facts"] >= INGEST_TARGET_FACTS else \
        f"target is over {INGEST_TARGET_FACTS:,} facts; this run had {result['facts']:,}"
    run.rows.append(Row("ingest, SQLite WAL, 1 worker (facts/s)", rate(figure),
                        f"{rate(base)} faust counting agent", f"{figure / base:.2f}x",
                        f">= {INGEST_TARGET:,}/s and >= 5x", yes(met), note,
                        {"ingest": result, "faust": faust}))
    run.rows.append(Row("  ceiling: aiokafka consume + orjson decode", rate(ceiling["rate"]),
                        "-", f"ingest at {figure / ceiling['rate']:.1%} of it",
                        data={"aiokafka": ceiling}))


def path_pg(run: Run) -> None:
    w = workload(run)
    lines = w.lines[: run.args.pg_facts] if run.args.pg_facts else w.lines
    results = {}
    for workers in (1, 2):
        broker, ends = loaded_broker(run, f"pg{workers}", lines)
        try:
            with fresh_database() as url:
                results[workers] = run_ingest(
                    broker.bootstrap, ends, url, run.workdir / f"pg{workers}",
                    run.log(f"worker-pg{workers}"), workers=workers)
        finally:
            broker.stop()
        r = results[workers]
        split = [rep.get("messages") for rep in r["reports"]]
        say(f"ingest PostgreSQL, {workers} worker(s): {r['facts']:,} facts in "
            f"{r['seconds']:.1f}s (messages per worker {split})")
    one, two = results[1]["rate"], results[2]["rate"]
    base = run.faust_rate
    run.rows.append(Row("ingest, PostgreSQL, 1 worker (facts/s)", rate(one),
                        f"{rate(base)} faust counting agent" if base else "-",
                        f"{one / base:.2f}x" if base else "-", data={"pg1": results[1]}))
    run.rows.append(Row("ingest, PostgreSQL, 2 workers (facts/s)", rate(two),
                        f"{rate(one)} 1 worker", f"{two / one:.2f}x", ">= 1.5x 1 worker",
                        yes(two >= 1.5 * one), f"{results[2]['facts']:,} facts",
                        {"pg2": results[2]}))


def ensure_store(run: Run) -> Path:
    if run.ingest_failed is not None:
        raise BenchError(f"needs the store of the ingest path, which failed "
                         f"({run.ingest_failed.splitlines()[0][:200]})")
    if run.sqlite_store is None:
        path_ingest(run)
    assert run.sqlite_store is not None
    return run.sqlite_store


def store_helper(run: Run, kind: str) -> dict[str, Any]:
    store = ensure_store(run)
    child = Child.start([python(), str(SCRIPTS / "bench_store.py"), kind, str(store),
                         str(store.parent)], child_env(), run.log(kind))
    child.process.wait()
    time.sleep(0.05)
    if child.process.returncode != 0 or not child.lines:
        raise BenchError(f"{kind} failed (exit {child.process.returncode}); "
                         f"see {run.log(kind)}")
    return child.lines[-1]


def path_replay(run: Run) -> None:
    r = store_helper(run, "replay")
    say(f"replay: {r['events']:,} events, {len(r['projections'])} projections in "
        f"{r['seconds']:.1f}s; read+decode {r['baseline_seconds']:.1f}s")
    note = f"{r['events']:,} stored events; {len(r['projections'])} projections"
    run.rows.append(Row("replay: rebuild all projections (events/s)", rate(r["rate"]),
                        f"{rate(r['baseline_rate'])} eventsourcing read+decode",
                        f"{r['rate'] / r['baseline_rate']:.2f}x", f">= {REPLAY_TARGET:,}/s",
                        yes(r["rate"] >= REPLAY_TARGET), note, {"replay": r}))
    run.details["read_decode_rate"] = r["baseline_rate"]


def path_audit(run: Run) -> None:
    r = store_helper(run, "audit")
    if "skipped" in r:
        run.rows.append(Row("audit verify (events/s)", "skipped", note=r["skipped"]))
        return
    say(f"audit verify: {r['events']:,} events in {r['seconds']:.1f}s, ok={r['ok']}")
    base = run.details.get("read_decode_rate")
    run.rows.append(Row("audit verify (events/s)", rate(r["rate"]),
                        f"{rate(base)} eventsourcing read+decode" if base else "-",
                        f"{r['rate'] / base:.2f}x" if base else "-", f">= {AUDIT_TARGET:,}/s",
                        yes(r["rate"] >= AUDIT_TARGET),
                        f"{r['events']:,} events; verified ok={r['ok']}", {"audit": r}))


def path_http(run: Run) -> None:
    store = ensure_store(run)
    w = workload(run)
    r = bench_http.balance_reads(str(store), store.parent, w.customers, run.log("api"),
                                 rate=run.args.http_rate, seconds=run.args.http_seconds,
                                 workers=run.args.http_workers)
    m, h = r["members"], r["healthz"]
    say(f"http: members p50 {m['p50_ms']:.2f} ms p99 {m['p99_ms']:.2f} ms; healthz p99 "
        f"{h['p99_ms']:.2f} ms")
    errors = {k: v for k, v in m["errors"].items()}
    note = (f"{m['requests']:,} requests at {r['rate']:.0f}/s over {r['seconds']:.0f}s, "
            f"{r['workers']} API process(es); "
            f"p50 {m['p50_ms']:.2f} ms (healthz {h['p50_ms']:.2f} ms)"
            + (f"; errors {errors}" if errors else ""))
    met = m["p99_ms"] is not None and m["p99_ms"] <= P99_TARGET_MS and not errors
    run.rows.append(Row("balance read GET /members/{id}, p99", f"{m['p99_ms']:.2f} ms",
                        f"{h['p99_ms']:.2f} ms GET /healthz",
                        f"{m['p99_ms'] / h['p99_ms']:.2f}x", f"<= {P99_TARGET_MS:g} ms",
                        yes(met), note, {"http": r}))


def path_memory(run: Run) -> None:
    members = run.args.members
    w = bench_workload.enrolment(members)
    broker, ends = loaded_broker(run, "memory", w.lines)
    store = fresh_store(run.workdir / "memory" / "loyalty.sqlite")
    try:
        r = run_ingest(broker.bootstrap, ends, str(store), store.parent,
                       run.log("worker-memory"))
    finally:
        broker.stop()
    report = r["reports"][0]
    peak, idle = report.get("rss_peak", 0), (report.get("assigned") or {}).get("rss", 0)
    # The projector process (engine/streams/projector.py) belongs to the worker: the target
    # is judged on both peaks added, though they need not coincide.
    projector = report.get("children_rss_peak", 0)
    stored = _count_members(store)
    say(f"memory: {stored:,} members, worker peak RSS {peak / MIB:,.0f} MiB, its projector "
        f"{projector / MIB:,.0f} MiB")
    judged = stored >= MEMORY_TARGET_MEMBERS
    run.rows.append(Row(
        "memory: worker peak RSS (+ its projector's)",
        f"{peak / MIB:,.0f} MiB + {projector / MIB:,.0f} MiB",
        f"{idle / MIB:,.0f} MiB idle worker",
        f"{(peak - idle) / max(1, stored):,.0f} B/member", f"<= 1.5 GiB at "
        f"{MEMORY_TARGET_MEMBERS:,} members",
        yes(peak + projector <= RSS_TARGET) if judged else "n/a",
        f"{stored:,} members in the store (enrolled in {r['seconds']:.0f}s, "
        f"{r['rate']:,.0f} facts/s)" + ("" if judged else "; target not judged below 1M"),
        {"memory": r, "members": stored}))


def _count_members(store: Path) -> int:
    import sqlite3

    with sqlite3.connect(store) as conn:
        return int(conn.execute("SELECT COUNT(*) FROM balances").fetchone()[0])


RUNNERS: dict[str, Callable[[Run], None]] = {
    "ingest": path_ingest, "pg": path_pg, "replay": path_replay, "audit": path_audit,
    "http": path_http, "memory": path_memory,
}


# -- output -----------------------------------------------------------------------------------


def revision() -> str:
    """The git commit of the code measured (``-dirty`` when the tree has local changes)."""
    import subprocess

    try:
        return subprocess.run(["git", "describe", "--always", "--dirty"], cwd=SCRIPTS.parent,
                              capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return os.environ.get("BENCH_REVISION", "unknown (not a git checkout)")


def machine() -> dict[str, Any]:
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
        mem = next(int(line.split()[1]) * 1024 for line in
                   Path("/proc/meminfo").read_text().splitlines()
                   if line.startswith("MemTotal:"))
    except (OSError, StopIteration):
        mem = 0
    return {"nproc": os.cpu_count(), "cpu": model, "ram_gib": round(mem / GIB, 1),
            "python": platform.python_version(), "kernel": platform.release()}


COLUMNS = ("path", "figure", "baseline", "ratio", "target", "met")


def table(rows: list[Row]) -> str:
    cells = [list(COLUMNS)] + [[getattr(r, c) for c in COLUMNS] for r in rows]
    widths = [max(len(str(row[i])) for row in cells) for i in range(len(COLUMNS))]
    lines = []
    for n, row in enumerate(cells):
        lines.append("  ".join(str(v).ljust(w) for v, w in zip(row, widths)).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    notes = [f"- {r.path.strip()}: {r.note}" for r in rows if r.note]
    return "\n".join(lines + ([""] + notes if notes else []))


def markdown(rows: list[Row]) -> str:
    out = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    out += ["| " + " | ".join(str(getattr(r, c)).replace("|", "\\|") for c in COLUMNS) + " |"
            for r in rows]
    return "\n".join(out)


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true",
                        help="small sizes (20,000 facts, 10,000 members, 5 s of HTTP)")
    parser.add_argument("--facts", type=int, help="facts in the workload (default 1,000,000)")
    parser.add_argument("--pg-facts", type=int,
                        help="facts for the PostgreSQL runs (default: --facts)")
    parser.add_argument("--members", type=int,
                        help="members enrolled for the memory path (default 1,000,000)")
    parser.add_argument("--paths", default=",".join(PATHS),
                        help=f"comma-separated, among {', '.join(PATHS)}")
    parser.add_argument("--http-rate", type=float, default=500.0)
    parser.add_argument("--http-seconds", type=float, help="default 20 (5 with --quick)")
    parser.add_argument("--http-workers", type=int, default=1,
                        help="server processes of `loyalty api` (its --workers; default 1)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--workload-cache", help="folder to keep generated workloads in")
    parser.add_argument("--workdir", help="where stores and logs go (default: a temp folder)")
    parser.add_argument("--keep", action="store_true",
                        help="keep the work folder (stores, logs, report.json)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of the table")
    parser.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    args = parser.parse_args(argv)
    quick = args.quick
    args.facts = args.facts or (20_000 if quick else 1_000_000)
    args.members = args.members or (10_000 if quick else 1_000_000)
    args.http_seconds = args.http_seconds or (5.0 if quick else 20.0)
    args.paths = [p.strip() for p in args.paths.split(",") if p.strip()]
    unknown = [p for p in args.paths if p not in PATHS]
    if unknown:
        parser.error(f"unknown path(s) {', '.join(unknown)}; choose among {', '.join(PATHS)}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="loyalty-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    run = Run(args, workdir)
    started = time.monotonic()
    load_before = os.getloadavg()
    say(f"benchmark paths {', '.join(args.paths)}; work folder {workdir}")
    for name in [p for p in PATHS if p in args.paths]:
        try:
            # Other processes on the machine skew every figure: keep the load next to them.
            run.details.setdefault("load_average_at_start_of", {})[name] = os.getloadavg()[0]
            RUNNERS[name](run)
        except Exception as exc:  # noqa: BLE001  (one failing path must not hide the others)
            run.failed = True
            say(f"{name}: FAILED: {exc}")
            run.rows.append(Row(name, "error", note=f"{type(exc).__name__}: {exc}"))
    total = time.monotonic() - started
    command = "scripts/bench.py " + " ".join(sys.argv[1:] if argv is None else argv)
    doc: dict[str, Any] = {"command": command.strip(), "revision": revision(), "date": datetime.now(UTC).isoformat(
        timespec="seconds"), "machine": machine(), "seconds": round(total, 1),
        "sizes": {"facts": args.facts, "pg_facts": args.pg_facts or args.facts,
                  "members": args.members, "http_rate": args.http_rate,
                  "http_seconds": args.http_seconds, "http_workers": args.http_workers},
        "load_average": {"start": load_before, "end": os.getloadavg()},
        "rows": [asdict(r) for r in run.rows], "details": run.details}
    (workdir / "report.json").write_bytes(orjson.dumps(doc, option=orjson.OPT_INDENT_2,
                                                       default=str))
    if args.json:
        sys.stdout.write(orjson.dumps(doc, option=orjson.OPT_INDENT_2, default=str).decode()
                         + "\n")
    else:
        sys.stdout.write((markdown(run.rows) if args.markdown else table(run.rows)) + "\n")
        sys.stdout.write(
            f"\n{len(run.rows)} rows in {total:.0f}s; {doc['machine']['nproc']} cores, "
            f"{doc['machine']['cpu']}; load average {load_before[0]:.2f} at the start, "
            f"{os.getloadavg()[0]:.2f} at the end; code {doc['revision']}\n")
    if args.keep or run.failed:
        say(f"work folder kept: {workdir}")
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    return 1 if run.failed else 0


if __name__ == "__main__":
    sys.exit(main())
