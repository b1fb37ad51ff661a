"""`loyalty demo`: the embedded broker, a worker and the API on a fresh SQLite store, fed a
generated year of a store, then a summary a merchant reads."""

from __future__ import annotations

import asyncio
import shutil
import socket
import threading
import time
from collections import Counter
from dataclasses import replace
from typing import Any

import uvicorn
from rich.console import Console
from rich.table import Table

from engine.broker import EmbeddedBroker
from engine.config import Settings
from engine.contract import TOPIC_BY_TYPE
from engine.publish import check_lines, send_facts, send_raw
from engine.streams.app import WorkerStats
from engine.streams.worker import run_worker

SETTLE_SECONDS = 2.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ApiThread:
    """The HTTP API served by uvicorn in a background thread of the demo process."""

    def __init__(self, settings: Settings, port: int) -> None:
        from engine.api.app import create_api

        config = uvicorn.Config(create_api(settings), host="127.0.0.1", port=port,
                                log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.url = f"http://127.0.0.1:{port}"

    def start(self) -> None:
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started and time.monotonic() < deadline:
            time.sleep(0.05)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def demo_settings(base: Settings) -> Settings:
    data_dir = base.data_dir / "demo"
    if data_dir.exists():
        shutil.rmtree(data_dir)
    data_dir.mkdir(parents=True)
    return replace(base, data_dir=data_dir, store_url=str(data_dir / "loyalty.sqlite"),
                   group_id="loyalty-demo")


def run_demo(console: Console, *, customers: int, seed: int, serve: bool) -> None:
    from engine.demo.generate import generate

    started = time.monotonic()
    base = Settings.from_env()
    with EmbeddedBroker(log_dir=base.data_dir) as broker:
        settings = replace(demo_settings(base), broker=broker.bootstrap)
        console.print(f"[bold]broker[/]  {broker.bootstrap} (embedded Tansu, memory only)")
        console.print(f"[bold]store[/]   {settings.store_url}")
        api = ApiThread(settings, free_port())
        api.start()
        console.print(f"[bold]API[/]     {api.url}  (docs at {api.url}/docs)")
        lines = generate(customers=customers, seed=seed)
        good, refused = check_lines(lines)
        console.print(
            f"generated {len(lines):,} storefront messages for {customers} customers "
            f"over a year ({len(refused)} malformed on purpose)"
        )
        stats = WorkerStats()
        stop = asyncio.Event()

        async def main() -> None:
            worker = asyncio.create_task(run_worker(settings, stop=stop, stats=stats))
            counts = await send_facts(broker.bootstrap, good)
            await send_raw(broker.bootstrap, TOPIC_BY_TYPE["order.placed"],
                           [(None, lines[n - 1]) for n, _ in refused])
            console.print(f"published {sum(counts.values()):,} valid and {len(refused)} "
                          "malformed messages; waiting for the worker…")
            expected = sum(counts.values()) + len(refused)
            await wait_processed(stats, expected, worker)
            if serve:
                console.print("[bold green]serving[/]: broker, worker and API keep running; "
                              "Ctrl-C to stop")
                await worker
            stop.set()
            await worker

        try:
            asyncio.run(main())
        except KeyboardInterrupt:
            pass
        finally:
            api.stop()
        summarize(console, settings, stats, time.monotonic() - started, api.url)


async def wait_processed(stats: WorkerStats, expected: int, worker: asyncio.Task[Any]) -> None:
    """Until the worker has seen every published message and then been quiet a moment."""
    while True:
        await asyncio.sleep(0.2)
        if worker.done():
            worker.result()
            return
        quiet = time.monotonic() - (stats.last_message_at or time.monotonic())
        if stats.messages >= expected and quiet >= SETTLE_SECONDS:
            return


def summarize(console: Console, settings: Settings, stats: WorkerStats, seconds: float,
              api_url: str) -> None:
    from engine.projections.balances import top_balances
    from engine.store import open_store
    from engine.store.dead_letters import list_dead_letters

    store = open_store(settings)
    try:
        totals = store.sql.query(
            "SELECT COUNT(*) AS members, COALESCE(SUM(lifetime_earned), 0) AS issued, "
            "COALESCE(SUM(available), 0) AS available, COALESCE(SUM(pending), 0) AS pending "
            "FROM balances"
        )[0]
        top = top_balances(store, 5)
        dead = list_dead_letters(store, 1000)
    finally:
        store.close()
    rate = stats.messages / stats.busy_seconds if stats.busy_seconds else 0.0
    console.print()
    table = Table(title="Your loyalty program after a year", show_header=False)
    table.add_column(style="bold")
    table.add_column(justify="right")
    table.add_row("members", f"{totals['members']:,}")
    table.add_row("points issued", f"{totals['issued']:,}")
    table.add_row("points available to spend", f"{totals['available']:,}")
    table.add_row("points pending (return window)", f"{totals['pending']:,}")
    table.add_row("messages processed", f"{stats.messages:,} ({rate:,.0f}/s while busy)")
    table.add_row("dead-lettered messages", f"{len(dead):,}")
    console.print(table)
    best = Table(title="Top balances")
    for column in ("customer", "available", "pending", "tier"):
        best.add_column(column, justify="right" if column != "customer" else "left")
    for row in top:
        best.add_row(row["customer_id"], f"{row['available']:,}", f"{row['pending']:,}",
                     str(row.get("tier", "")))
    console.print(best)
    reasons = Counter(d["reason"] for d in dead)
    if reasons:
        why = Table(title="Why messages were dead-lettered")
        why.add_column("reason", overflow="fold")
        why.add_column("count", justify="right")
        for reason, count in reasons.most_common():
            why.add_row(reason, str(count))
        console.print(why)
    example = top[0]["customer_id"] if top else "<customer-id>"
    console.print(f"\nDone in {seconds:.1f}s. Look further:")
    console.print(f"  LOYALTY_DATA_DIR={settings.data_dir} loyalty balance {example}")
    console.print(f"  LOYALTY_DATA_DIR={settings.data_dir} loyalty dead-letters")
    console.print(f"  loyalty demo --serve   (keeps the API at an address like {api_url})")
