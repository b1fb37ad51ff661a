"""`loyalty`: every subcommand is a thin call into the engine; output with --json for scripts."""

from __future__ import annotations

import asyncio
import logging
import sys
from pathlib import Path
from typing import Annotated, Any, Optional

import orjson
import typer
from rich.console import Console

from engine.config import Settings
from engine.errors import LoyaltyError

app = typer.Typer(
    help="Event-sourced loyalty engine: broker, worker, API and back-office commands.\n\n"
    "Configured by LOYALTY_BROKER, LOYALTY_STORE_URL, LOYALTY_DATA_DIR and LOYALTY_API_KEY.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
err = Console(stderr=True)

JsonFlag = Annotated[bool, typer.Option("--json", help="Machine-readable JSON output.")]


def settings() -> Settings:
    return Settings.from_env()


def emit_json(obj: Any) -> None:
    sys.stdout.write(orjson.dumps(obj, option=orjson.OPT_INDENT_2, default=str).decode() + "\n")


@app.command()
def broker(
    port: Annotated[int, typer.Option(help="Port to listen on (loopback).")] = 9092,
) -> None:
    """Run the embedded Kafka-protocol broker (Tansu, memory only) in the foreground."""
    from engine.broker import EmbeddedBroker

    embedded = EmbeddedBroker(port=port)
    console.print(f"broker listening on [bold]{embedded.bootstrap}[/] (Ctrl-C to stop)")
    embedded.run_foreground()


@app.command()
def publish(
    source: Annotated[str, typer.Argument(help="JSON-lines file of events, or - for stdin.")],
    json_out: JsonFlag = False,
) -> None:
    """Validate JSON-lines events and publish each to its topic, keyed by customer_id.

    A line that fails validation is refused with its line number and reason, and nothing of it
    is sent; the other lines are sent. Exits 1 when any line was refused. With
    LOYALTY_STORE_ID and LOYALTY_SIGNING_SECRET set, every record is signed.
    """
    from engine.publish import Signer, publish_lines

    config = settings()
    signer = (Signer(config.store_id, config.signing_secret)
              if config.store_id and config.signing_secret else None)
    stream = sys.stdin.buffer if source == "-" else Path(source).open("rb")
    with stream:
        lines = stream.read().splitlines()
    report = asyncio.run(publish_lines(config.broker, lines, signer))
    if json_out:
        emit_json({"sent": dict(report.by_topic), "refused": [
            {"line": n, "reason": r} for n, r in report.refused]})
    else:
        for number, reason in report.refused:
            err.print(f"line {number}: refused: {reason}")
        for topic, count in sorted(report.by_topic.items()):
            console.print(f"{count:>8}  {topic}")
        console.print(f"{report.sent:>8}  sent in all, {len(report.refused)} refused")
    raise typer.Exit(1 if report.refused else 0)


@app.command()
def worker(
    until_idle: Annotated[
        Optional[float],
        typer.Option(help="Exit 0 once nothing new has arrived for this many seconds."),
    ] = None,
    health_port: Annotated[
        Optional[int],
        typer.Option(help="Serve GET /healthz on this loopback port (200 ok / 503 unhealthy)."),
    ] = None,
) -> None:
    """Consume every topic and apply the facts to the members in the store.

    With LOYALTY_SIGNING_SECRETS set, storefront records must be signed (see README).
    """
    from engine.streams.worker import run_worker

    stats = asyncio.run(run_worker(settings(), until_idle=until_idle, health_port=health_port))
    rate = stats.messages / stats.busy_seconds if stats.busy_seconds else 0.0
    err.print(
        f"worker done: {stats.messages} messages, {stats.applied} applied, "
        f"{stats.skipped} already applied, {stats.dead_lettered} dead-lettered, "
        f"{stats.resets} partition log resets "
        f"({rate:,.0f} messages/s while busy)"
    )


@app.command()
def balance(
    customer_id: Annotated[str, typer.Argument(help="The member's customer id.")],
    as_of: Annotated[Optional[str], typer.Option(
        "--as-of", help="The view as it was at this time (RFC 3339, or a date: midnight UTC), "
        "from the member's history.")] = None,
    json_out: JsonFlag = False,
) -> None:
    """Show a member's balance view (expiring points and the next tier judged at engine time,
    or at --as-of)."""
    from engine.cli.read_cmds import show_balance

    show_balance(customer_id, as_of, json_out)


@app.command("dead-letters")
def dead_letters(
    json_out: JsonFlag = False,
    limit: Annotated[int, typer.Option(help="Show at most this many, newest last.")] = 100,
) -> None:
    """List the messages the worker refused, with the reason for each."""
    from engine.cli.render import dead_letter_table
    from engine.store import open_store
    from engine.store.dead_letters import list_dead_letters

    store = open_store(settings())
    try:
        rows = list_dead_letters(store, limit)
    finally:
        store.close()
    if json_out:
        emit_json(rows)
    else:
        console.print(dead_letter_table(rows))


@app.command()
def api(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(
        min=1, help="Server processes sharing the port, each with its own store connection "
        "(/prometheus counts the requests of the process that answers the scrape).")] = 1,
) -> None:
    """Serve the back-office HTTP API (OpenAPI at /docs)."""
    import uvicorn

    # An import string, so that each worker process builds its own app from the environment.
    uvicorn.run("engine.api.app:api_from_env", factory=True, workers=workers, host=host,
                port=port, log_level="info")


@app.command()
def demo(
    serve: Annotated[bool, typer.Option(help="Keep broker, worker and API running.")] = False,
    customers: Annotated[int, typer.Option(help="How many customers to simulate.")] = 300,
    seed: Annotated[int, typer.Option(help="Seed of the generated stream.")] = 7,
) -> None:
    """Run everything on the embedded default and publish a generated year of a store."""
    from engine.cli.demo import run_demo

    run_demo(console, customers=customers, seed=seed, serve=serve)


def main() -> None:
    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        app()
    except LoyaltyError as exc:
        err.print(f"[red]error:[/] {exc}")
        sys.exit(2)


from engine.cli import ledger_cmds  # noqa: E402,F401  (registers its commands on app)
from engine.cli import read_cmds  # noqa: E402,F401  (report, replay, history)
from engine.cli import audit_cmds  # noqa: E402,F401  (audit verify/digest, simulate)

if __name__ == "__main__":
    # Run the imported module's app, which the command modules registered on.
    from engine.cli.main import main as registered_main

    registered_main()
