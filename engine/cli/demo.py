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
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
import uvicorn
from rich.console import Console
from rich.table import Table

from engine.broker import EmbeddedBroker
from engine.config import DEFAULT_API_KEY, Settings
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


def shown_key(settings: Settings) -> str:
    """The development default is shown; a key the user set is a secret and is not."""
    return settings.api_key if settings.api_key == DEFAULT_API_KEY else "$LOYALTY_API_KEY"


def demo_settings(base: Settings) -> Settings:
    data_dir = base.data_dir / "demo"
    if data_dir.exists():
        shutil.rmtree(data_dir)
    data_dir.mkdir(parents=True)
    return replace(base, data_dir=data_dir, store_url=str(data_dir / "loyalty.sqlite"),
                   group_id="loyalty-demo")


HISTORY_DAYS = 400  # a little over a year, so the first year's unspent lots expire


def demo_start(now: datetime) -> datetime:
    """The simulated history ends about now, so redemptions and sweeps "now" are in step."""
    day = (now - timedelta(days=HISTORY_DAYS)).date()
    return datetime(day.year, day.month, day.day, tzinfo=timezone(timedelta(hours=3)))


def run_demo(console: Console, *, customers: int, seed: int, serve: bool) -> None:
    from engine.demo.generate import generate

    started = time.monotonic()
    base = Settings.from_env()
    now = datetime.now(timezone.utc)
    with EmbeddedBroker(log_dir=base.data_dir) as broker:
        settings = replace(demo_settings(base), broker=broker.bootstrap)
        console.print(f"[bold]broker[/]  {broker.bootstrap} (embedded Tansu, memory only)")
        console.print(f"[bold]store[/]   {settings.store_url}")
        api = ApiThread(settings, free_port())
        api.start()
        console.print(f"[bold]API[/]     {api.url}  (docs at {api.url}/docs, "
                      f"dashboard at {api.url}/, X-API-Key: {shown_key(settings)})")
        lines = generate(customers=customers, seed=seed, days=HISTORY_DAYS,
                         start=demo_start(now))
        good, refused = check_lines(lines)
        console.print(
            f"generated {len(lines):,} storefront messages for {customers} customers "
            f"over the last {HISTORY_DAYS} days ({len(refused)} malformed on purpose)"
        )
        stats = WorkerStats()
        stop = asyncio.Event()
        shop = ShopActivity()

        async def main() -> None:
            worker = asyncio.create_task(run_worker(settings, stop=stop, stats=stats))
            counts = await send_facts(broker.bootstrap, good)
            await send_raw(broker.bootstrap, TOPIC_BY_TYPE["order.placed"],
                           [(None, lines[n - 1]) for n, _ in refused])
            console.print(f"published {sum(counts.values()):,} valid and {len(refused)} "
                          "malformed messages; waiting for the worker…")
            expected = sum(counts.values()) + len(refused)
            await wait_processed(stats, expected, worker)
            await asyncio.to_thread(shop.redeem_some, api.url, settings)
            console.print(f"back office: {len(shop.coupons)} redemptions through the API "
                          f"({len(shop.refusals)} refused)")
            await asyncio.to_thread(sweep_to, settings, now)
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
        summarize(console, settings, stats, time.monotonic() - started, api.url, shop)


class ShopActivity:
    """The back office at work during the demo: redemptions through the HTTP API."""

    REWARDS = ("ten-percent-off", "free-shipping", "five-off", "free-product:PRF-OUD-50")

    def __init__(self) -> None:
        self.coupons: list[dict[str, Any]] = []
        self.refusals: list[str] = []

    def redeem_some(self, url: str, settings: Settings) -> None:
        from engine.projections.balances import top_balances
        from engine.projections.registry import catch_up_all
        from engine.store import open_store

        store = open_store(settings)
        try:
            # The worker's projector may not have folded its last batch yet (decision 0010).
            catch_up_all(store)
            ranked = top_balances(store, 10_000)
        finally:
            store.close()
        headers = {"X-API-Key": settings.api_key}
        with httpx.Client(base_url=url, headers=headers, timeout=30) as client:
            for i, row in enumerate(ranked[: len(ranked) // 5]):
                reward = self.REWARDS[i % len(self.REWARDS)]
                self._post(client, row["customer_id"], reward, f"demo-{i}")
            if ranked:  # the poorest member asks for more than they have
                self._post(client, ranked[-1]["customer_id"], "five-off", "demo-short")

    def _post(self, client: httpx.Client, customer_id: str, reward: str, request: str) -> None:
        answer = client.post(f"/members/{customer_id}/redemptions",
                             json={"reward": reward, "request_id": request})
        if answer.status_code == 201:
            self.coupons.append(answer.json())
        else:
            self.refusals.append(f"{customer_id}: {answer.json()['detail']}")


def sweep_to(settings: Settings, now: datetime) -> None:
    """Bring every member's activations and expiries up to now, as a nightly sweep would."""
    from engine.backoffice import sweep
    from engine.projections.registry import catch_up_all
    from engine.store import open_store

    store = open_store(settings)
    try:
        sweep(store, now)
        catch_up_all(store)
    finally:
        store.close()


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
              api_url: str, shop: ShopActivity) -> None:
    from engine.projections.balances import top_balances
    from engine.store import open_store
    from engine.store.dead_letters import list_dead_letters

    store = open_store(settings)
    try:
        totals = store.sql.query(
            "SELECT COUNT(*) AS members, COALESCE(SUM(lifetime_earned), 0) AS issued, "
            "COALESCE(SUM(available), 0) AS available, COALESCE(SUM(pending), 0) AS pending, "
            "COALESCE(SUM(redeemed), 0) AS redeemed, COALESCE(SUM(expired), 0) AS expired, "
            "COALESCE(SUM(reversed), 0) AS reversed FROM balances"
        )[0]
        tiers = {r["tier"]: int(r["n"]) for r in store.sql.query(
            "SELECT tier, COUNT(*) AS n FROM balances GROUP BY tier")}
        counts = store.event_counts()
        top = top_balances(store, 5)
        dead = list_dead_letters(store, 1000)
    finally:
        store.close()
    rate = stats.messages / stats.busy_seconds if stats.busy_seconds else 0.0
    console.print()
    table = Table(title="Your loyalty program", show_header=False)
    table.add_column(style="bold")
    table.add_column(justify="right")
    rows = [
        ("members", f"{totals['members']:,}"),
        ("points issued", f"{totals['issued']:,}"),
        ("points redeemed", f"{totals['redeemed']:,} in {len(shop.coupons)} redemptions"),
        ("points reversed by refunds", f"{totals['reversed']:,}"),
        ("points expired", f"{totals['expired']:,}"),
        ("points available to spend", f"{totals['available']:,}"),
        ("points pending (return window)", f"{totals['pending']:,}"),
        ("tier mix", ", ".join(f"{t} {tiers.get(t, 0)}"
                               for t in ("bronze", "silver", "gold", "platinum"))),
        ("referral rewards", f"{counts.get('ReferralRewarded', 0):,}"),
        ("referrals refused", f"{counts.get('ReferralRefused', 0):,}"),
        ("messages processed", f"{stats.messages:,} ({rate:,.0f}/s while busy)"),
        ("dead-lettered messages", f"{len(dead):,}"),
    ]
    for name, value in rows:
        table.add_row(name, value)
    console.print(table)
    best = Table(title="Top balances")
    for column in ("customer", "available", "pending", "tier"):
        best.add_column(column, justify="right" if column != "customer" else "left")
    for row in top:
        best.add_row(row["customer_id"], f"{row['available']:,}", f"{row['pending']:,}",
                     str(row.get("tier", "")))
    console.print(best)
    if shop.refusals:
        console.print("refused redemption: " + "; ".join(shop.refusals))
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
    console.print(f"  loyalty demo --serve   (keeps the API and the dashboard at an address "
                  f"like {api_url}/)")
