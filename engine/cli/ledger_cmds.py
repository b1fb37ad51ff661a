"""Back-office ledger commands: program versions, redemptions, sweeps."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.progress import Progress

from engine.cli.main import JsonFlag, app, console, emit_json, err, settings
from engine.cli.timeparse import parse_time

PUBLISH_LEAD = timedelta(minutes=1)

program_app = typer.Typer(help="Publish and show versions of the loyalty program file.",
                          no_args_is_help=True)
app.add_typer(program_app, name="program")


@program_app.command("publish")
def program_publish(
    file: Annotated[Path, typer.Argument(help="The program file (TOML).", exists=True,
                                         dir_okay=False)],
    effective_from: Annotated[Optional[str], typer.Option(
        help="When the version takes effect (RFC 3339); default one minute from now, so "
        "every worker has picked it up before the first fact it judges.")] = None,
    json_out: JsonFlag = False,
) -> None:
    """Validate a program file and record it as a new version.

    Nothing is published when the file is invalid; the error names the key and the reason.
    Facts that occur from the effective time on are judged by the new version; older facts
    keep the version in force when they occurred.
    """
    from engine.store import open_store
    from engine.store.programs import publish_program

    now = parse_time(None)
    effective = (parse_time(effective_from, name="--effective-from") if effective_from
                 else now + PUBLISH_LEAD)
    if effective < now + PUBLISH_LEAD and not json_out:
        err.print("note: a version in force sooner than a minute from now may meet facts that "
                  "a worker already judged by the version before it (workers poll every few "
                  "seconds); `loyalty audit verify` would report them.")
    store = open_store(settings())
    try:
        program = publish_program(store, file.read_text(encoding="utf-8"), effective, now)
    finally:
        store.close()
    summary = {"version": program.version, "content_hash": program.content_hash,
               "effective_from": program.effective_from.isoformat()}
    if json_out:
        emit_json(summary)
    else:
        console.print(f"published program version {program.version} "
                      f"(sha256 {program.content_hash[:12]}…), in force from "
                      f"{program.effective_from.isoformat()}")


@program_app.command("show")
def program_show(
    version: Annotated[Optional[int], typer.Option(help="Which version; default the latest.")]
    = None,
    json_out: JsonFlag = False,
) -> None:
    """Print a program version (its file text) and the list of versions."""
    from engine.store import open_store
    from engine.store.programs import program_history, show_program

    store = open_store(settings())
    try:
        program, text = show_program(store, version)
        history = program_history(store)
    finally:
        store.close()
    if json_out:
        emit_json({"version": program.version, "content_hash": program.content_hash,
                   "effective_from": program.effective_from.isoformat(), "text": text,
                   "versions": history})
        return
    console.print(f"[bold]program version {program.version}[/] in force from "
                  f"{program.effective_from.isoformat()}")
    console.print(text, markup=False, highlight=False)
    console.print("versions: " + ", ".join(
        f"{h['version']} (from {h['effective_from']})" for h in history))


@app.command()
def redeem(
    customer_id: Annotated[str, typer.Argument(help="The member's customer id.")],
    reward: Annotated[str, typer.Argument(
        help="A catalog reward, e.g. ten-percent-off or free-product:SKU.")],
    request_id: Annotated[str, typer.Option(
        help="Idempotency key: the same id returns the same result and spends once.")],
    json_out: JsonFlag = False,
) -> None:
    """Redeem points for a reward; prints the coupon code."""
    from engine.backoffice import redeem as do_redeem
    from engine.projections.registry import catch_up_all
    from engine.store import open_store

    store = open_store(settings())
    try:
        result = do_redeem(store, customer_id, reward, request_id, parse_time(None))
        catch_up_all(store)
    finally:
        store.close()
    out = {"customer_id": result.customer_id, "reward": result.reward, "points": result.points,
           "coupon": result.coupon, "request_id": result.request_id,
           "at": result.at.isoformat() if hasattr(result.at, "isoformat") else result.at}
    if json_out:
        emit_json(out)
    else:
        console.print(f"redeemed {result.points:,} points for {result.reward}: "
                      f"coupon [bold]{result.coupon}[/]")


@app.command()
def sweep(
    now: Annotated[Optional[str], typer.Option(
        help="Engine time to sweep up to (RFC 3339); default now.")] = None,
    json_out: JsonFlag = False,
) -> None:
    """Emit the activations, expiries and tier reviews due up to a time, for every member.

    Running it twice for the same time changes nothing the second time.
    """
    from engine.backoffice import member_ids
    from engine.backoffice import sweep as do_sweep
    from engine.projections.registry import catch_up_all
    from engine.store import open_store

    at = parse_time(now, name="--now")
    store = open_store(settings())
    try:
        total = len(member_ids(store))
        with Progress(console=err, transient=True, disable=json_out) as progress:
            task = progress.add_task("sweeping members", total=total)
            report = do_sweep(store, at, lambda n: progress.advance(task, n))
        catch_up_all(store)
    finally:
        store.close()
    out = {"now": at.isoformat(), "members": report.members, "changed": report.changed,
           "events": report.events}
    if json_out:
        emit_json(out)
    else:
        console.print(f"swept {report.members:,} members up to {at.isoformat()}: "
                      f"{report.changed:,} changed, {report.events:,} events")
