"""Audit and what-if commands: ``audit verify``, ``audit digest`` and ``simulate``."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Optional

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
    customer: Annotated[Optional[str], typer.Option(
        help="Verify only this member (and the program catalog).")] = None,
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
            report = verify(store, customer, on_total=total, progress=advance)
    finally:
        store.close()
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
