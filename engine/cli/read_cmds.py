"""Read-side commands on the `loyalty` app: report, replay, history, and the balance view (also
as of a past time). Imported at the bottom of ``engine.cli.main``."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
)
from rich.text import Text

from engine.cli.main import JsonFlag, app, console, emit_json, err, settings
from engine.cli.timeparse import parse_time


class RateColumn(ProgressColumn):
    """Events per second so far."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text(f"{speed:,.0f} events/s" if speed else "", style="progress.data.speed")


def show_balance(customer_id: str, as_of: str | None, json_out: bool) -> None:
    """The ``balance`` command: the projection's view now, or the view as of ``as_of``."""
    from engine.cli.render import balance_table
    from engine.projections.member_view import balance_as_of, balance_view
    from engine.store import open_store

    at = parse_time(as_of, name="--as-of") if as_of is not None else None
    store = open_store(settings())
    try:
        row = (balance_view(store, customer_id) if at is None
               else balance_as_of(store, customer_id, at))
    finally:
        store.close()
    if row is None:
        when = f" at {at.isoformat()}" if at is not None else ""
        err.print(f"no member with customer id {customer_id!r}{when}")
        raise typer.Exit(1)
    if json_out:
        emit_json(row)
        return
    console.print(balance_table(row))
    expiring = row["expiring_30d"]
    soonest = f" (soonest {expiring['date']})" if expiring["date"] else ""
    console.print(f"expiring within 30 days: {expiring['points']:,} points{soonest}")
    console.print(f"as of {row['as_of']}", style="dim")


@app.command()
def replay(
    projection: Annotated[Optional[list[str]], typer.Option(
        "--projection", "-p",
        help="Rebuild only this read model (repeatable): balances, tiers, churn, metrics.")
    ] = None,
    json_out: JsonFlag = False,
) -> None:
    """Drop read models and rebuild them from the store's history; reports events/s.

    The rebuilt rows equal the incrementally built ones. Outbound member events already in the
    outbox are not sent again.
    """
    from engine.projections.registry import named
    from engine.projections.registry import replay as do_replay
    from engine.store import open_store

    chosen = [p.name for p in named(projection)]
    store = open_store(settings())
    try:
        total = store.max_notification_id()
        columns = (TextColumn("[bold]replaying[/] {task.description}"), BarColumn(),
                   MofNCompleteColumn(), RateColumn(), TimeElapsedColumn())
        with Progress(*columns, console=err, disable=json_out) as progress:
            task = progress.add_task(", ".join(chosen), total=total)
            started = time.perf_counter()
            events = do_replay(store, chosen, lambda n: progress.advance(task, n))
            seconds = time.perf_counter() - started
    finally:
        store.close()
    rate = events / seconds if seconds > 0 else 0.0
    if json_out:
        emit_json({"projections": chosen, "events": events, "seconds": round(seconds, 3),
                   "events_per_second": round(rate)})
    else:
        console.print(f"replayed {', '.join(chosen)}: {events:,} events in {seconds:,.2f}s "
                      f"([bold]{rate:,.0f} events/s[/])")


@app.command()
def history(
    customer_id: Annotated[str, typer.Argument(help="The member's customer id.")],
    after: Annotated[int, typer.Option(help="Start after this event version.")] = 0,
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="Show at most this many.")] = 200,
    json_out: JsonFlag = False,
) -> None:
    """Show a member's events, oldest first (version, time, event, what it says)."""
    from engine.cli.report_render import history_table
    from engine.projections.member_view import member_history
    from engine.store import open_store

    store = open_store(settings())
    try:
        page = member_history(store, customer_id, after, limit)
    finally:
        store.close()
    if page is None:
        err.print(f"no member with customer id {customer_id!r}")
        raise typer.Exit(1)
    if json_out:
        emit_json(page)
    else:
        console.print(history_table(page))


@app.command()
def report(
    json_out: JsonFlag = False,
    plot: Annotated[Optional[Path], typer.Option(
        help="Also draw metrics over time, the tier mix and the churn grades to this PNG.")
    ] = None,
    start: Annotated[Optional[str], typer.Option(
        "--from", help="First month, e.g. 2025-01 (default: the first with data).")] = None,
    end: Annotated[Optional[str], typer.Option(
        "--to", help="Last month, inclusive (default: the latest with data).")] = None,
) -> None:
    """Program metrics (overall and per month), the tier mix and the churn grades."""
    data = _report_data(start, end)
    if plot is not None:
        from engine.cli.plot import draw_report

        draw_report(data, plot)
    if json_out:
        emit_json(data)
        return
    from engine.cli.report_render import grades_table, metrics_tables, tier_table

    for table in metrics_tables(data["metrics"]):
        console.print(table)
    console.print(tier_table(data["tiers"]))
    console.print(grades_table(data["churn"]))
    if plot is not None:
        console.print(f"plot written to [bold]{plot}[/]")


def _report_data(start: str | None, end: str | None) -> dict[str, Any]:
    from engine.api.params import MONTH
    from engine.projections.churn import grade_counts
    from engine.projections.metrics import program_metrics
    from engine.projections.support import engine_time, ts
    from engine.projections.tiers import tier_history, tier_mix
    from engine.store import open_store
    from engine.store.programs import program_book

    for name, value in (("--from", start), ("--to", end)):
        if value is not None and not MONTH.match(value):
            raise typer.BadParameter(f"{name} must be a month like 2025-06, got {value!r}")
    if start and end and start > end:
        raise typer.BadParameter(f"--from ({start}) is after --to ({end})")
    store = open_store(settings())
    try:
        program = program_book(store).current
        return {
            "engine_time": ts(engine_time(store, "metrics")),
            "metrics": program_metrics(store, program, start, end),
            "tiers": {"mix": tier_mix(store, program), "history": tier_history(store)},
            "churn": grade_counts(store),
        }
    finally:
        store.close()
