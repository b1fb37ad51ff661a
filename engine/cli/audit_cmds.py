"""Audit and what-if commands: ``audit verify``, ``audit digest`` and ``simulate``."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from engine.cli.main import JsonFlag, app, console, emit_json, err, settings
from engine.cli.timeparse import parse_time

audit_app = typer.Typer(help="Verify the ledger against its sources; pin it with a digest.",
                        no_args_is_help=True)
app.add_typer(audit_app, name="audit")

SHOWN_MISMATCHES = 25


@contextmanager
def progress_bar(what: str) -> Iterator[tuple[Callable[[int], None], Callable[[int], None]]]:
    """(set the total, advance by n) callbacks of a progress bar on stderr that shows the rate."""
    columns = (TextColumn(f"[bold]{what}"), BarColumn(), MofNCompleteColumn(),
               TextColumn("{task.fields[rate]}"), TimeElapsedColumn())
    with Progress(*columns, console=err, transient=True) as bar:
        task = bar.add_task(what, total=None, rate="")

        def total(n: int) -> None:
            bar.update(task, total=n or None)

        def advance(n: int) -> None:
            bar.advance(task, n)
            elapsed = bar.tasks[0].elapsed or 0.0
            done = bar.tasks[0].completed
            if elapsed > 0:
                bar.update(task, rate=f"{done / elapsed:,.0f} events/s")

        yield total, advance


@audit_app.command("verify")
def audit_verify(
    customer: Annotated[str | None, typer.Option(
        help="Verify only this member (and the program catalog).")] = None,
    jobs: Annotated[int | None, typer.Option(
        min=1, help="Worker processes checking members; default one per CPU for 50,000 "
                    "events or more.")] = None,
    json_out: JsonFlag = False,
) -> None:
    """Replay every member's stored sources under the program versions they were judged by and
    compare the result with the stored events; check every event's hash-chain link.

    Exits 1 when anything disagrees (mismatches or broken links), 0 when the ledger is clean.
    """
    from engine.audit.verify import verify
    from engine.store import open_store

    store = open_store(settings())
    try:
        with progress_bar("verifying") as (total, advance):
            report = verify(store, customer, jobs=jobs, on_total=total, progress=advance)
    finally:
        store.close()
    if customer is not None and report.members == 0:
        err.print(f"no member with customer id {customer!r}")
        raise typer.Exit(1)
    if json_out:
        emit_json(report.to_json())
    else:
        _print_verify(report)
    raise typer.Exit(0 if report.ok else 1)


def _print_verify(report: Any) -> None:
    summary = Table(title="Audit verify", show_header=False)
    summary.add_column("", style="bold")
    summary.add_column("", justify="right")
    for label, value in (
        ("originators", report.originators), ("members replayed", report.members),
        ("events checked", report.events_checked), ("events replayed", report.events_replayed),
        ("sources replayed", report.sources), ("mismatches", report.mismatch_count),
        ("broken chain links", len(report.broken_links)),
        ("seconds", f"{report.seconds:.2f}"), ("events/s", f"{report.events_per_second:,.0f}"),
    ):
        summary.add_row(label, f"{value:,}" if isinstance(value, int) else value)
    console.print(summary)
    if report.broken_links:
        links = Table(title="First broken link of each chain")
        for column in ("originator", "version", "problem", "detail"):
            links.add_column(column, overflow="fold")
        for b in report.broken_links[:SHOWN_MISMATCHES]:
            links.add_row(b.originator_id, str(b.version), b.problem, b.detail)
        console.print(links)
    if report.mismatches:
        table = Table(title=f"Mismatches (first {min(SHOWN_MISMATCHES, report.mismatch_count)} "
                            f"of {report.mismatch_count})")
        for column in ("member", "version", "event", "rule", "expected", "found", "why"):
            table.add_column(column, overflow="fold")
        for m in report.mismatches[:SHOWN_MISMATCHES]:
            table.add_row(m.customer_id or m.member_id, str(m.version or "-"), m.event, m.rule,
                          _brief(m.expected), _brief(m.found), m.reason)
        console.print(table)
    console.print("[green]ledger verified: no mismatch, every link intact[/]" if report.ok
                  else "[red]ledger NOT verified[/]")


def _brief(fields: dict[str, Any] | None) -> str:
    if fields is None:
        return "-"
    keys = ("points", "rule", "program_version", "lot_id", "pending", "active", "to_tier",
            "undecodable")
    shown = {k: fields[k] for k in keys if k in fields}
    return ", ".join(f"{k}={v}" for k, v in (shown or fields).items())[:120]


@audit_app.command("digest")
def audit_digest(
    day: Annotated[str, typer.Option("--date", help="The day (YYYY-MM-DD, UTC) to pin.")],
    json_out: JsonFlag = False,
) -> None:
    """Print the digest that pins the ledger at the end of a day (UTC).

    sha256 over the sorted lines '<originator> <version> <hash>' of every originator's last
    chain link recorded before the next midnight UTC. Publish it; recomputing it later gives
    the same value unless history of that day was rewritten.
    """
    from engine.audit.digest import day_digest
    from engine.store import open_store

    try:
        wanted = date.fromisoformat(day)
    except ValueError:
        raise typer.BadParameter(f"--date must be a date like 2025-06-30, got {day!r}") from None
    store = open_store(settings())
    try:
        result = day_digest(store, wanted)
    finally:
        store.close()
    if json_out:
        emit_json(result.to_json())
        return
    console.print(f"ledger digest at the end of {result.day.isoformat()} (UTC): "
                  f"[bold]{result.digest}[/]")
    console.print(f"{result.originators:,} chains, {result.events:,} events, links recorded "
                  f"before {result.cutoff}")


@app.command()
def simulate(
    program: Annotated[Path, typer.Option("--program", help="The draft program file (TOML).",
                                          exists=True, dir_okay=False)],
    start: Annotated[str | None, typer.Option(
        "--from", help="The draft takes effect, and the figures' period starts, here "
                       "(RFC 3339 or a date, UTC); default: the beginning.")] = None,
    end: Annotated[str | None, typer.Option(
        "--to", help="The period ends here (a date counts whole); default: the last "
                     "event.")] = None,
    keep: Annotated[Path | None, typer.Option(
        help="Keep the scratch store (simulation.sqlite) in this folder.")] = None,
    top: Annotated[int, typer.Option(help="How many most-changed members to list.")] = 10,
    json_out: JsonFlag = False,
) -> None:
    """What a draft program would have done to the stored history.

    Replays the history under the draft into a scratch store (the live store is only read)
    and compares points issued, redeemed and expired, liability, tier mix and churn grades
    with the live ledger's figures for the same period, and lists the members whose balance
    or tier would change most.
    """
    from datetime import timedelta

    from engine.audit.simulate import simulate as run_simulation
    from engine.store import open_store

    begin = parse_time(start, name="--from") if start else None
    until = parse_time(end, name="--to") if end else None
    if until is not None and end is not None and len(end) == 10:
        until += timedelta(days=1)  # a date names the whole day
    if begin is not None and until is not None and until <= begin:
        raise typer.BadParameter("--to must be after --from")
    store = open_store(settings())
    try:
        with progress_bar("simulating") as (total, advance):
            report = run_simulation(store, program.read_text(encoding="utf-8"), begin, until,
                                    keep=keep, on_total=total, progress=advance)
    finally:
        store.close()
    if json_out:
        emit_json(report.to_json())
        return
    _print_simulation(report, top)


def _print_simulation(report: Any, top: int) -> None:
    live, sim = report.live, report.simulated
    period = (f"{report.start.isoformat() if report.start else 'the beginning'} to "
              f"{report.end.isoformat() if report.end else 'the last event'}")
    table = Table(title=f"Draft program (version {report.draft_version}) against the live "
                        f"ledger, {period}")
    for column, justify in (("figure", "left"), ("live", "right"), ("simulated", "right"),
                            ("change", "right")):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]

    def row(label: str, before: int, after: int) -> None:
        change = after - before
        shown = f"{change:+,}" if change else "0"
        if before and change:
            shown += f" ({change / before:+.1%})"
        table.add_row(label, f"{before:,}", f"{after:,}", shown)

    row("points issued", live.issued_total, sim.issued_total)
    for rule in sorted(set(live.issued) | set(sim.issued)):
        row(f"  {rule}", live.issued[rule], sim.issued[rule])
    row("points reversed (refunds)", live.reversed, sim.reversed)
    row("points redeemed", live.redeemed, sim.redeemed)
    row("redemptions", live.redemptions, sim.redemptions)
    row("points expired", live.expired, sim.expired)
    row(f"liability at {report.as_of.date().isoformat()}", live.liability, sim.liability)
    row("members", live.members, sim.members)
    for tier in sorted(set(live.tier_mix) | set(sim.tier_mix)):
        row(f"tier {tier}", live.tier_mix[tier], sim.tier_mix[tier])
    for grade in ("champion", "loyal", "regular", "at_risk"):
        row(f"churn grade {grade}", live.churn[grade], sim.churn[grade])
    console.print(table)
    changes = report.changes(top)
    if changes:
        most = Table(title="Members whose tier or balance would change most")
        for column in ("member", "tier (live -> draft)", "balance live", "balance draft",
                       "change"):
            most.add_column(column)
        for c in changes:
            most.add_row(c["customer_id"], f"{c['live_tier']} -> {c['simulated_tier']}",
                         f"{c['live_balance']:,}", f"{c['simulated_balance']:,}",
                         f"{c['change']:+,}")
        console.print(most)
    else:
        console.print("no member's balance or tier would change")
    for reason, count in sorted(report.refused.items()):
        console.print(f"refused under the draft: {count:,} x {reason}")
    console.print(f"{report.sources:,} sources replayed into {report.events:,} events in "
                  f"{report.replay_seconds:.2f}s ({report.events_per_second:,.0f} events/s); "
                  f"{report.seconds:.2f}s in all")
    if report.scratch:
        console.print(f"scratch store kept at {report.scratch}")
