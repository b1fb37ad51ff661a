#!/usr/bin/env python3
"""Chaos run for people: the fault scenarios of tests/fault at full size, one table at the end.

    .venv/bin/python scripts/chaos.py                      # ~27k facts, 20 kills, 5,000 poison
    .venv/bin/python scripts/chaos.py --customers 300 --kills 5 --only kills,poison

Generates a history (hundreds of members, every rule exercised), computes the reference ledger
by a clean in-order run, then runs each scenario on a fresh embedded broker and store (SQLite,
or a private PostgreSQL server it starts and removes for the scale-out and database scenarios)
and compares every member's ledger with the reference. Prints a Markdown table: the fault
injected, how many times, messages sent, facts applied, members that differ from the reference
(must be 0), facts the reference applied that were never applied, invariant violations (a fact
applied twice, an award twice, a negative balance, books that do not balance) and other broken
guarantees, dead letters. Exits 1 when any scenario broke a guarantee.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.fault import inputs, outages, scenarios
from tests.fault.history import History, make_history, rules_exercised
from tests.fault.pgserver import PrivatePostgres
from tests.fault.reference import Reference, reference
from tests.fault.scenarios import Result

SCENARIOS = ("control", "redelivery", "kills", "scale-out", "database", "broker", "poison",
             "redemptions")


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=1200, help="members in the history")
    parser.add_argument("--days", type=int, default=430, help="days of history (past a year, "
                        "so points expire)")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--kills", type=int, default=20, help="worker SIGKILLs")
    parser.add_argument("--db-restarts", type=int, default=2)
    parser.add_argument("--broker-restarts", type=int, default=2)
    parser.add_argument("--malformed", type=int, default=5000)
    parser.add_argument("--clients", type=int, default=6, help="concurrent API clients")
    parser.add_argument("--only", default=",".join(SCENARIOS),
                        help=f"comma-separated subset of {', '.join(SCENARIOS)}")
    parser.add_argument("--workdir", type=Path, default=None,
                        help="keep stores and logs here (default: a temporary folder, removed)")
    return parser.parse_args()


def recent(history_customers: int, seed: int) -> History:
    days = 150
    day = (datetime.now(timezone.utc) - timedelta(days=days)).date()
    start = datetime(day.year, day.month, day.day, tzinfo=timezone(timedelta(hours=3)))
    return make_history(max(history_customers // 3, 50), days=days, seed=seed + 1, start=start)


def plan(args: argparse.Namespace, ref: Reference, work: Path
         ) -> list[tuple[str, Callable[[], Result]]]:
    def with_pg(run: Callable[[PrivatePostgres], Result]) -> Callable[[], Result]:
        def wrapped() -> Result:
            with PrivatePostgres() as pg:
                return run(pg)
        return wrapped

    return [
        ("control", lambda: scenarios.clean_run(ref, work / "control")),
        ("redelivery", lambda: scenarios.redelivery(ref, work / "redelivery")),
        ("kills", lambda: scenarios.worker_kills(ref, work / "kills", kills=args.kills,
                                                 seconds_per_kill=5.0)),
        ("scale-out", with_pg(lambda pg: scenarios.scale_out(ref, work / "scale-out", pg.url,
                                                             publish_seconds=30))),
        ("database", with_pg(lambda pg: outages.database_restarts(
            ref, work / "database", pg, restarts=args.db_restarts))),
        ("broker", lambda: outages.broker_restarts(ref, work / "broker",
                                                   restarts=args.broker_restarts)),
        ("poison", lambda: inputs.poison(ref, work / "poison", args.malformed)),
        ("redemptions", lambda: inputs.redemptions(recent(args.customers, args.seed),
                                                   work / "redemptions", clients=args.clients,
                                                   publish_seconds=30)),
    ]


def table(ref: Reference, results: list[Result]) -> str:
    head = ("| fault injected | times | messages sent | facts applied | mismatches | "
            "facts lost | violations | other failures | dead letters | seconds |")
    rows = [head, "|" + "---|" * 10]
    for r in results:
        rows.append(f"| {r.fault} | {r.injected:,} | {r.sent:,} | {r.applied:,} | "
                    f"{len(r.mismatches):,} | {r.lost:,} | {len(r.violations):,} | "
                    f"{len(r.failures):,} | {r.dead_letters:,} | {r.seconds:,.0f} |")
    return "\n".join(rows)


def main() -> int:
    args = arguments()
    chosen = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = set(chosen) - set(SCENARIOS)
    if unknown:
        print(f"unknown scenario(s) {sorted(unknown)}; choose from {', '.join(SCENARIOS)}",
              file=sys.stderr)
        return 2
    work = args.workdir or Path(tempfile.mkdtemp(prefix="loyalty-chaos-"))
    work.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    history = make_history(args.customers, days=args.days, seed=args.seed)
    print(f"history: {len(history.facts):,} facts of {args.customers:,} customers over "
          f"{args.days} days ({dict(history.types())})", flush=True)
    ref = reference(history, work / "reference")
    missing = rules_exercised(ref.outcome.event_counts, ref.outcome.rules)
    print(f"reference ledger: {ref.outcome.members:,} members in {ref.seconds:.0f}s; "
          f"rules not exercised: {missing or 'none'}; events: "
          f"{dict(ref.outcome.event_counts.most_common())}", flush=True)
    results: list[Result] = []
    for name, run in plan(args, ref, work):
        if name not in chosen:
            continue
        print(f"--- {name} ...", flush=True)
        begun = time.monotonic()
        try:
            result = run()
        except Exception as exc:  # noqa: BLE001  (one crash must not hide the other rows)
            traceback.print_exc()
            failure = f"{type(exc).__name__}: {str(exc)[:2000]}"
            result = Result(f"{name} (did not finish)", 0, 0, 0, [], [], 0,
                            time.monotonic() - begun, failures=[failure])
        results.append(result)
        print(("ok" if result.ok else "BROKEN") + f" in {result.seconds:.0f}s", flush=True)
        if not result.ok or result.notes:
            print(result.explain(10), flush=True)
    print()
    print(f"chaos run: {len(history.facts):,} facts, {args.customers:,} customers, seed "
          f"{args.seed}, {time.monotonic() - started:,.0f}s in all")
    print(table(ref, results))
    if args.workdir is None:
        shutil.rmtree(work, ignore_errors=True)
    else:
        print(f"stores and process logs kept in {work}")
    return 0 if all(r.ok for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
