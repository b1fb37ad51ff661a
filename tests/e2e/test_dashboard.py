"""The back-office dashboard in a real browser: Playwright driving Debian's Chromium against the
API process serving a store filled with a generated year of a shop.

The store is filled without a broker (the service layer applies the stream directly, commands
between members are fed back from the outbox), a second program version is published part-way
through, and some redemptions are made along the way, so every page has something to show.

Screenshots go to a temporary folder; set ``LOYALTY_SCREENSHOTS_DIR=docs/screenshots`` to
refresh the ones the README shows.
"""

from __future__ import annotations

import csv
import io
import os
import random
import re
import shutil
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from engine.backoffice import redeem, sweep
from engine.cli.demo import HISTORY_DAYS, ApiThread, demo_start, free_port
from engine.config import Settings
from engine.contract import COMMANDS_TOPIC, TOPIC_BY_TYPE
from engine.demo.generate import generate
from engine.errors import RedemptionRefused
from engine.program.model import default_text
from engine.projections.registry import catch_up_all
from engine.service import Incoming, Ledger
from engine.store import LoyaltyStore, open_store, outbox
from engine.store.programs import publish_program

playwright_api = pytest.importorskip("playwright.sync_api")

pytestmark = pytest.mark.browser

API_KEY = "dashboard-test-key"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync"]
CUSTOMERS = 150
MALFORMED = 5
VIEWPORT = {"width": 1280, "height": 900}
PAGES = ("overview", "tiers", "churn", "members", "program", "dead-letters")
ARABIC_DIGITS = re.compile("[\u0660-\u0669]")
REWARDS = ("five-off", "ten-percent-off", "free-shipping")


# --- The data ---------------------------------------------------------------------------------

def fill_demo_store(store: LoyaltyStore, *, customers: int, now: datetime, seed: int = 7) -> int:
    """A generated shop year applied through the service layer, with a second program version
    (perfume earns double) from the middle of it and a few redemptions every batch; then swept
    to ``now`` and projected. Returns the number of storefront messages."""
    start = demo_start(now)
    perfume_double = re.sub(r"^# e\.g\. perfume = .*$", 'perfume = "2"', default_text(),
                            count=1, flags=re.MULTILINE)
    assert perfume_double != default_text()
    publish_program(store, perfume_double, effective_from=start + timedelta(days=200),
                    published_at=start)
    lines = generate(customers=customers, seed=seed, days=HISTORY_DAYS, start=start,
                     malformed=MALFORMED)
    rng = random.Random(seed)
    ledger = Ledger(store)
    offsets: dict[str, int] = {}
    seen: list[str] = []
    commands = 0
    for first in range(0, len(lines), 400):
        batch, last = [], None
        for line in lines[first:first + 400]:
            try:
                doc = orjson.loads(line)
            except orjson.JSONDecodeError:
                doc = {}
            topic = TOPIC_BY_TYPE.get(doc.get("type"), TOPIC_BY_TYPE["order.placed"])
            customer = doc.get("customer_id")
            if isinstance(customer, str) and customer not in seen:
                seen.append(customer)
            last = doc.get("occurred_at") if isinstance(doc.get("occurred_at"), str) else last
            offset = offsets.get(topic, 0)
            offsets[topic] = offset + 1
            batch.append(Incoming(topic, 0, offset, line))
        ledger.handle(batch)
        while sent := [m for m in outbox.pending(store) if m.topic == COMMANDS_TOPIC]:
            ledger.handle([Incoming(COMMANDS_TOPIC, 0, commands + n, m.value)
                           for n, m in enumerate(sent)])
            commands += len(sent)
            outbox.mark_sent(store, [m.id for m in sent])
        if last is not None and "+" in last[10:]:
            at = datetime.fromisoformat(last)
            for n, customer in enumerate(rng.sample(seen, min(8, len(seen)))):
                try:
                    redeem(store, customer, rng.choice(REWARDS), f"fill-{first}-{n}", at)
                except RedemptionRefused:
                    pass
        ledger.reload()  # the redemptions wrote members the ledger holds in memory
    sweep(store, now)
    catch_up_all(store)
    return len(lines)


# --- Fixtures ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    data = tmp_path_factory.mktemp("dashboard-data")
    settings = Settings.from_env({"LOYALTY_DATA_DIR": str(data), "LOYALTY_API_KEY": API_KEY})
    store = open_store(settings)
    try:
        fill_demo_store(store, customers=CUSTOMERS, now=datetime.now(timezone.utc))
    finally:
        store.close()
    return settings


@pytest.fixture(scope="module")
def base_url(settings: Settings) -> Iterator[str]:
    api = ApiThread(settings, free_port())
    api.start()
    assert api.server.started, "the API did not start"
    try:
        yield api.url
    finally:
        api.stop()


@pytest.fixture(scope="module")
def client(base_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base_url, headers={"X-API-Key": API_KEY}, timeout=30) as c:
        yield c


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium package "
                    "(scripts/test does)", pytrace=False)
    with playwright_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser: Any, base_url: str) -> Iterator[Any]:
    """A fresh browser context (empty session and local storage) per test; uncaught script
    errors and failed requests to the API fail the test."""
    context = browser.new_context(viewport=VIEWPORT, base_url=base_url, locale="en-GB",
                                  accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(15_000)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(f"page error: {exc}"))
    # The browser logs every 4xx answer ("Failed to load resource"); the tests check those
    # answers are shown well, so only other console errors count.
    page.on("console", lambda msg: errors.append(f"console: {msg.text}")
            if msg.type == "error" and not msg.text.startswith("Failed to load resource")
            else None)
    yield page
    context.close()
    assert not errors, errors


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    wanted = os.environ.get("LOYALTY_SCREENSHOTS_DIR")
    folder = Path(wanted) if wanted else tmp_path_factory.mktemp("screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


# --- Helpers ----------------------------------------------------------------------------------

def sign_in(page: Any, key: str = API_KEY, *, lang: str | None = None) -> None:
    if lang is not None:
        page.add_init_script(f"localStorage.setItem('loyalty.lang', '{lang}')")
    page.goto("/")
    page.get_by_label("API key" if lang != "ar" else "مفتاح الواجهة البرمجية").fill(key)
    page.locator("form button[type=submit]").click()


def wait_ready(page: Any, name: str) -> None:
    page.wait_for_selector(f"#main[data-ready='{name}']")


def open_page(page: Any, route: str, name: str) -> None:
    page.goto(f"/#/{route}")
    wait_ready(page, name)


def shot(page: Any, folder: Path, name: str, *, full_page: bool = True) -> Path:
    path = folder / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page, animations="disabled")
    assert path.stat().st_size > 10_000
    return path


def figure(page: Any, name: str) -> str:
    return page.locator(f"[data-figure='{name}'] dd").inner_text()


def en_number(value: float) -> str:
    return f"{value:,}"


# --- The API the dashboard relies on ----------------------------------------------------------

def test_static_files_do_not_shadow_the_api(client: httpx.Client, base_url: str):
    assert "text/html" in httpx.get(f"{base_url}/").headers["content-type"]
    assert httpx.get(f"{base_url}/docs").status_code == 200
    assert httpx.get(f"{base_url}/healthz").json()["status"] == "ok"
    paths = httpx.get(f"{base_url}/openapi.json").json()["paths"]
    for path in ("/dead-letters", "/program", "/program/drafts/check",
                 "/segments/churn/members", "/members/{customer_id}/expiring"):
        assert path in paths, path
    assert httpx.get(f"{base_url}/program").status_code == 401  # no key, no program
    vendored = httpx.get(f"{base_url}/vendor/chart.umd.min.js")
    assert vendored.status_code == 200 and b"Chart.js v4" in vendored.content[:200]


def test_dead_letters_are_paged_with_their_reasons(client: httpx.Client):
    first = client.get("/dead-letters", params={"limit": 2}).json()
    rest = client.get("/dead-letters", params={"limit": 50, "offset": 2}).json()
    assert first["total"] == MALFORMED and len(first["items"]) == 2
    assert len(rest["items"]) == MALFORMED - 2
    positions = [(d["topic"], d["partition"], d["offset"]) for d in first["items"] + rest["items"]]
    assert len(set(positions)) == MALFORMED
    assert all(d["reason"] and d["payload"] for d in first["items"] + rest["items"])
    assert client.get("/dead-letters", params={"limit": 0}).status_code == 422


def test_program_view_names_the_version_in_force_and_its_history(client: httpx.Client):
    program = client.get("/program").json()
    assert program["version"] == 2 and program["currency"] == "SAR"
    assert [v["version"] for v in program["history"]] == [1, 2]
    assert {r["name"]: r["points"] for r in program["rewards"]}["ten-percent-off"] == 400
    assert program["settings"]["spend"]["category_multipliers"] == {"perfume": "2"}
    assert 'perfume = "2"' in program["text"]


def test_a_draft_program_is_checked_against_the_version_in_force(client: httpx.Client):
    draft = default_text().replace("points_per_unit = 1", "points_per_unit = 3")
    checked = client.post("/program/drafts/check", content=draft,
                          headers={"Content-Type": "text/plain"}).json()
    assert checked["valid"] is True
    changes = {c["key"]: (c["current"], c["draft"]) for c in checked["changes"]}
    assert changes["spend.points_per_unit"] == (1, 3)
    assert changes["spend.category_multipliers.perfume"] == ("2", None)
    broken = client.post("/program/drafts/check", content="[tiers.silver]\nthreshold = -1\n",
                         headers={"Content-Type": "text/plain"}).json()
    assert broken["valid"] is False
    assert any("tiers.silver.threshold" in e for e in broken["errors"])


def test_churn_grade_sorts_pages_and_exports_with_usual_categories(client: httpx.Client):
    counts = client.get("/segments/churn", params={"limit": 1}).json()["counts"]
    grade = max(counts, key=lambda g: counts[g])
    whole = client.get("/segments/churn/members",
                       params={"grade": grade, "sort": "orders", "order": "desc",
                               "limit": 500}).json()
    assert whole["total"] == counts[grade] == len(whole["items"])
    orders = [m["orders"] for m in whole["items"]]
    assert orders == sorted(orders, reverse=True)
    assert any(m["categories"] for m in whole["items"])
    second = client.get("/segments/churn/members",
                        params={"grade": grade, "sort": "orders", "order": "desc",
                                "limit": 5, "offset": 5}).json()
    assert [m["customer_id"] for m in second["items"]] == \
        [m["customer_id"] for m in whole["items"][5:10]]
    exported = client.get("/segments/churn/members.csv",
                          params={"grade": grade, "sort": "orders", "order": "desc"})
    assert exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text.lstrip("\ufeff"))))
    assert [r["customer_id"] for r in rows] == [m["customer_id"] for m in whole["items"]]
    assert exported.headers["x-total-count"] == str(counts[grade])
    part = client.get("/segments/churn/members.csv", params={
        "grade": grade, "sort": "orders", "order": "desc", "limit": 2, "offset": 1})
    assert [r["customer_id"] for r in csv.DictReader(io.StringIO(part.text.lstrip("\ufeff")))] \
        == [m["customer_id"] for m in whole["items"][1:3]]
    assert client.get("/segments/churn/members.csv",
                      params={"limit": 100_001}).status_code == 422
    assert client.get("/segments/churn/members", params={"sort": "mood"}).status_code == 422


def test_expiring_lots_of_a_member(client: httpx.Client):
    rich = client.get("/segments/churn/members",
                      params={"grade": "champion", "sort": "spend", "limit": 1}).json()
    customer = rich["items"][0]["customer_id"]
    lots = client.get(f"/members/{customer}/expiring").json()["lots"]
    assert lots and all(lot["remaining"] > 0 for lot in lots)
    assert [lot["expires_at"] for lot in lots] == sorted(lot["expires_at"] for lot in lots)
    view = client.get(f"/members/{customer}").json()
    soon = view["expiring_30d"]
    if soon["points"]:
        assert lots[0]["expires_at"][:19] == soon["date"][:19]
    assert client.get("/members/nobody-at-all/expiring").status_code == 404


# --- The dashboard in the browser -------------------------------------------------------------

def test_a_wrong_api_key_shows_a_clear_message(page: Any):
    sign_in(page, "not-the-key")
    alert = page.get_by_role("alert")
    alert.wait_for()
    assert "That API key was not accepted" in alert.inner_text()
    assert page.locator("#nav").is_hidden()
    assert page.evaluate("sessionStorage.getItem('loyalty.apiKey')") is None
    assert page.get_by_label("API key").get_attribute("aria-invalid") == "true"
    page.get_by_label("API key").fill(API_KEY)
    page.locator("form button[type=submit]").click()
    wait_ready(page, "overview")
    assert page.evaluate("sessionStorage.getItem('loyalty.apiKey')") == API_KEY


def test_a_key_the_api_stops_accepting_sends_the_user_back_to_sign_in(page: Any):
    sign_in(page)
    wait_ready(page, "overview")
    page.evaluate("sessionStorage.setItem('loyalty.apiKey', 'rotated-away')")
    page.get_by_role("link", name="Tiers").click()
    alert = page.get_by_role("alert")
    alert.wait_for()
    assert "no longer accepts your key" in alert.inner_text()
    assert page.locator("#api-key").is_visible()


def test_overview_shows_the_program_figures_and_charts(page: Any, client: httpx.Client,
                                                       shots: Path):
    metrics = client.get("/metrics").json()
    overall, months = metrics["overall"], metrics["months"]
    sign_in(page)
    wait_ready(page, "overview")
    assert page.get_by_role("heading", level=1).inner_text() == "Overview"
    assert figure(page, "members") == en_number(CUSTOMERS)
    assert figure(page, "points-issued") == en_number(overall["points_issued"])
    assert figure(page, "points-redeemed") == en_number(overall["points_redeemed"])
    assert overall["points_redeemed"] > 0
    assert figure(page, "aov").startswith("SAR")
    assert figure(page, "liability").startswith("SAR")
    assert figure(page, "repeat").endswith("%")
    charts = page.locator("figure[data-chart] canvas")
    assert charts.count() == 7
    # Chart.js drew on them: the canvases have a size and painted pixels.
    painted = page.evaluate("""() => [...document.querySelectorAll('figure[data-chart] canvas')]
        .map(c => { const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
                    let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i]) n++; return n; })""")
    assert all(n > 500 for n in painted), painted
    # Each chart carries its data as a table too: one row per month.
    table = page.locator("[data-chart='chart-points'] table tbody tr")
    assert table.count() == len(months)
    shot(page, shots, "overview-en")


def test_overview_period_narrows_the_months(page: Any, client: httpx.Client):
    months = [m["month"] for m in client.get("/metrics").json()["months"]]
    sign_in(page)
    wait_ready(page, "overview")
    page.get_by_label("From month").select_option(months[-3])
    page.get_by_label("To month").select_option(months[-2])
    page.get_by_role("button", name="Show").click()
    page.wait_for_function("location.hash.includes('from=')")
    wait_ready(page, "overview")
    assert page.locator("[data-chart='chart-points'] table tbody tr").count() == 2
    expected = client.get("/metrics", params={"from": months[-3], "to": months[-2]}).json()
    assert figure(page, "points-issued") == en_number(expected["overall"]["points_issued"])


def test_member_search_redeem_and_see_the_balance_drop(page: Any, client: httpx.Client,
                                                       shots: Path):
    rich = client.get("/segments/churn/members",
                      params={"grade": "champion", "sort": "spend", "limit": 3}).json()
    customer = rich["items"][2]["customer_id"]
    before = client.get(f"/members/{customer}").json()
    assert before["available"] >= 400
    sign_in(page)
    wait_ready(page, "overview")
    page.get_by_role("link", name="Members").click()
    wait_ready(page, "members")
    page.get_by_label("Customer id").fill(customer)
    page.get_by_role("button", name="Find").click()
    wait_ready(page, "members")
    available = page.locator("#balance-available")
    assert int(available.get_attribute("data-value")) == before["available"]
    assert available.inner_text() == en_number(before["available"])
    assert page.locator("#member-tier").inner_text().lower() == before["tier"]
    # Every award in the history names its rule and program version.
    rows = page.locator("#history-table tbody tr")
    assert rows.count() > 3
    earned = page.locator("#history-table tbody tr", has_text="Points earned").first
    cells = earned.locator("td").all_inner_texts()
    assert cells[4] in {"Welcome", "Newsletter", "Spend", "Review", "Share"}, cells
    assert cells[5] in {"1", "2"}, cells
    shot(page, shots, "member-en")

    page.get_by_label("Reward").select_option("ten-percent-off")
    page.get_by_role("button", name="Redeem…").click()
    dialog = page.get_by_role("dialog")
    assert "400" in dialog.inner_text() and customer in dialog.inner_text()
    dialog.get_by_role("button", name="Redeem").click()
    coupon = page.locator("#coupon")
    coupon.wait_for()
    assert re.fullmatch(r"[A-Z0-9-]{6,}", coupon.inner_text()), coupon.inner_text()
    page.wait_for_function(
        f"document.querySelector('#balance-available')?.dataset.value == "
        f"'{before['available'] - 400}'")
    assert available.inner_text() == en_number(before["available"] - 400)
    assert client.get(f"/members/{customer}").json()["available"] == before["available"] - 400
    page.evaluate("document.querySelector('#balance').scrollIntoView({block: 'start'})")
    shot(page, shots, "member-redeemed-en", full_page=False)


def test_a_redemption_beyond_the_balance_is_refused_with_the_reason(page: Any,
                                                                    client: httpx.Client):
    poor = client.get("/segments/churn/members",
                      params={"grade": "at_risk", "sort": "spend", "order": "asc",
                              "limit": 50}).json()["items"]
    customer = next(m["customer_id"] for m in poor
                    if client.get(f"/members/{m['customer_id']}").json()["available"] < 500)
    sign_in(page)
    wait_ready(page, "overview")
    open_page(page, f"members/{customer}", "members")
    page.get_by_label("Reward").select_option("five-off")
    page.get_by_role("button", name="Redeem…").click()
    page.get_by_role("dialog").get_by_role("button", name="Redeem").click()
    alert = page.locator("#redeem-result [role=alert]")
    alert.wait_for()
    assert alert.inner_text().startswith("Refused:")
    assert "available" in alert.inner_text()
    assert page.locator("#coupon").count() == 0


def test_an_unknown_customer_is_said_so(page: Any):
    sign_in(page)
    wait_ready(page, "overview")
    open_page(page, "members/no-such-customer", "members")
    assert "No member with customer id" in page.get_by_role("alert").inner_text()


def test_arabic_is_right_to_left_with_arabic_numbers(page: Any, client: httpx.Client,
                                                    shots: Path):
    sign_in(page)
    wait_ready(page, "overview")
    english_nav = page.locator("#nav").bounding_box()
    assert english_nav["x"] < 5  # at the left
    page.get_by_role("button", name="Switch to Arabic").click()
    page.wait_for_function("document.documentElement.dir === 'rtl'")
    wait_ready(page, "overview")
    assert page.evaluate("document.documentElement.lang") == "ar"
    assert page.get_by_role("heading", level=1).inner_text() == "نظرة عامة"
    nav = page.locator("#nav").bounding_box()
    main = page.locator("#main").bounding_box()
    assert nav["x"] + nav["width"] > VIEWPORT["width"] - 5  # at the right edge
    assert nav["x"] > main["x"]
    assert page.evaluate("getComputedStyle(document.querySelector('main')).direction") == "rtl"
    members = figure(page, "members")
    assert ARABIC_DIGITS.search(members) and not re.search(r"[0-9]", members)
    assert "ر.س" in figure(page, "aov")  # the program's currency (SAR), in Arabic
    # Charts run right to left: the y axis is on the right, time reversed.
    axis = page.evaluate("""() => { const c = Chart.getChart('chart-points');
        return {reverse: c.options.scales.x.reverse, position: c.options.scales.y.position}; }""")
    assert axis == {"reverse": True, "position": "right"}
    assert page.evaluate("localStorage.getItem('loyalty.lang')") == "ar"
    shot(page, shots, "overview-ar")
    # The choice survives a reload; switching back restores left-to-right.
    page.reload()
    wait_ready(page, "overview")
    assert page.evaluate("document.documentElement.dir") == "rtl"
    page.get_by_role("button", name="التبديل إلى الإنجليزية").click()
    page.wait_for_function("document.documentElement.dir === 'ltr'")
    assert page.locator("#nav").bounding_box()["x"] < 5


def test_arabic_member_page_keeps_ids_left_to_right_and_dates_in_arabic(page: Any,
                                                                       client: httpx.Client,
                                                                       shots: Path):
    rich = client.get("/segments/churn/members",
                      params={"grade": "champion", "sort": "spend", "limit": 1}).json()
    customer = rich["items"][0]["customer_id"]
    sign_in(page, lang="ar")
    wait_ready(page, "overview")
    open_page(page, f"members/{customer}", "members")
    heading = page.get_by_role("heading", level=1).inner_text()
    assert heading.startswith("العضو") and customer in heading
    when = page.locator("#history-table tbody tr td").nth(1).inner_text()
    assert ARABIC_DIGITS.search(when) and not re.search(r"[0-9]", when)
    assert re.search("(يناير|فبراير|مارس|أبريل|مايو|يونيو|يوليو|أغسطس|سبتمبر|أكتوبر|نوفمبر|"
                     "ديسمبر)", when)
    shot(page, shots, "member-ar")


def test_churn_list_sorts_pages_and_exports_csv(page: Any, client: httpx.Client, shots: Path,
                                                tmp_path: Path):
    counts = client.get("/segments/churn", params={"limit": 1}).json()["counts"]
    grade = max(counts, key=lambda g: counts[g])
    assert counts[grade] > 25  # enough for two pages
    sign_in(page)
    wait_ready(page, "overview")
    open_page(page, f"churn?grade={grade}", "churn")
    count_rows = page.locator("#grade-counts tbody tr").all_inner_texts()
    assert len(count_rows) == 4
    assert sorted(int(row.split()[-1]) for row in count_rows) == sorted(counts.values())
    header = page.locator("th", has=page.locator("button[data-sort='orders']"))
    page.locator("button[data-sort='orders']").click()
    page.wait_for_function("location.hash.includes('sort=orders')")
    wait_ready(page, "churn")
    assert header.get_attribute("aria-sort") == "descending"
    assert page.evaluate("document.activeElement.dataset.sort") == "orders"  # focus kept
    orders = [int(c) for c in page.locator("#churn-table tbody tr td:nth-child(4)")
              .all_inner_texts()]
    assert orders == sorted(orders, reverse=True) and len(orders) == 25
    page.locator("button[data-sort='orders']").click()
    page.wait_for_function("location.hash.includes('dir=asc')")
    wait_ready(page, "churn")
    assert header.get_attribute("aria-sort") == "ascending"
    orders = [int(c) for c in page.locator("#churn-table tbody tr td:nth-child(4)")
              .all_inner_texts()]
    assert orders == sorted(orders)
    page.get_by_role("button", name="Next page").click()
    page.wait_for_function("location.hash.includes('offset=25')")
    wait_ready(page, "churn")
    status = f"26–{min(50, counts[grade])} of {counts[grade]}"
    assert status in page.locator(".pager").inner_text()
    with page.expect_download() as download:
        page.get_by_role("button", name="Export CSV").click()
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    assert saved.name == f"churn-{grade}.csv"
    rows = list(csv.DictReader(io.StringIO(saved.read_text("utf-8-sig"))))
    assert len(rows) == counts[grade]
    assert {"customer_id", "recency_days", "orders", "spend", "categories"} <= set(rows[0])
    assert f"Exported {counts[grade]} members." in page.locator("#export-status").inner_text()
    open_page(page, "churn?grade=at_risk", "churn")  # the win-back list, for the README
    assert page.locator("#grade-select").input_value() == "at_risk"
    page.evaluate("window.scrollTo(0, 0)")
    shot(page, shots, "churn-en", full_page=False)


def test_tiers_page_counts_members_per_tier(page: Any, client: httpx.Client, shots: Path):
    tiers = client.get("/tiers").json()
    sign_in(page)
    wait_ready(page, "overview")
    open_page(page, "tiers", "tiers")
    rows = page.locator("#tier-mix tbody tr")
    assert rows.count() == len(tiers["mix"]) == 4
    for row, expected in zip(rows.all(), tiers["mix"], strict=True):
        cells = row.locator("th, td").all_inner_texts()
        assert cells[0].lower() == expected["tier"]
        assert cells[1] == en_number(expected["members"])
    assert page.locator("[data-chart='chart-tiers-over-time'] table tbody tr").count() == \
        len(tiers["history"])
    shot(page, shots, "tiers-en")


def test_program_page_shows_versions_and_checks_a_draft(page: Any, base_url: str,
                                                        shots: Path, tmp_path: Path):
    draft = tmp_path / "draft.toml"
    draft.write_text(default_text().replace("points = 400", "points = 300"))
    paths = httpx.get(f"{base_url}/openapi.json").json()["paths"]
    simulation_offered = any("simulat" in path and "post" in item and "{" not in path
                             for path, item in paths.items())
    sign_in(page)
    wait_ready(page, "overview")
    open_page(page, "program", "program")
    assert page.locator("#program-version").inner_text() == "2"
    history = page.locator("#program-history tbody tr")
    assert history.count() == 2
    assert page.locator("#rewards-table tbody tr").count() == 4
    page.locator("#draft-file").set_input_files(str(draft))
    assert page.locator("#draft-file-name").inner_text() == "draft.toml"
    page.get_by_role("button", name="Check the draft").click()
    changes = page.locator("#draft-changes")
    changes.wait_for()
    text = changes.inner_text()
    assert "rewards.ten-percent-off.points" in text and "300" in text
    assert "spend.category_multipliers.perfume" in text  # the draft drops v2's change
    simulate = page.get_by_role("button", name="Simulate last year under the draft")
    assert simulate.is_disabled() != simulation_offered
    if not simulation_offered:
        assert "not offered by this API yet" in page.locator("[role=status].warning, "
                                                             ".message.warning").inner_text()
    shot(page, shots, "program-en")
    draft.write_text("currency = 'riyal'\n")
    page.locator("#draft-file").set_input_files(str(draft))
    page.get_by_role("button", name="Check the draft").click()
    problems = page.locator("#draft-result [role=alert]")
    problems.wait_for()
    assert "currency" in problems.inner_text()


def test_dead_letters_page_lists_what_was_refused_and_why(page: Any, client: httpx.Client,
                                                          shots: Path):
    reasons = {d["reason"] for d in client.get("/dead-letters").json()["items"]}
    sign_in(page)
    wait_ready(page, "overview")
    open_page(page, "dead-letters", "dead-letters")
    assert page.locator("#dead-count").inner_text() == f"{MALFORMED} refused messages"
    shown = set(page.locator("#dead-letters-table tbody tr td:first-child").all_inner_texts())
    assert shown == reasons
    shot(page, shots, "dead-letters-en", full_page=False)


def test_every_page_renders_in_both_languages(page: Any, shots: Path):
    for lang in ("en", "ar"):
        page.context.clear_cookies()
        sign_in(page, lang=lang)
        wait_ready(page, "overview")
        for name in PAGES:
            open_page(page, name, name)
            assert page.evaluate("document.documentElement.lang") == lang
            assert page.locator("#main .message.error").count() == 0, (lang, name)
            assert page.locator("#main h1").count() == 1
            if lang == "ar" and name not in ("overview", "members"):  # shot elsewhere
                shot(page, shots, f"{name}-ar", full_page=False)
        page.evaluate("sessionStorage.clear(); localStorage.clear()")


def test_both_languages_have_every_word(page: Any):
    sign_in(page)
    wait_ready(page, "overview")
    keys = page.evaluate("""async () => { const m = await import('/js/i18n.js');
        return {en: Object.keys(m.DICTIONARIES.en), ar: Object.keys(m.DICTIONARIES.ar)}; }""")
    assert set(keys["en"]) == set(keys["ar"]), set(keys["en"]) ^ set(keys["ar"])


def test_keyboard_reaches_every_section_and_controls_are_labelled(page: Any):
    sign_in(page)
    wait_ready(page, "overview")
    assert page.evaluate("document.activeElement.tagName") == "H1"  # focus follows the page
    page.keyboard.press("Shift+Tab")
    for _ in range(12):
        if page.evaluate("document.activeElement.dataset.nav") == "tiers":
            break
        page.keyboard.press("Shift+Tab")
    assert page.evaluate("document.activeElement.dataset.nav") == "tiers"
    page.keyboard.press("Enter")
    wait_ready(page, "tiers")
    assert page.evaluate("document.activeElement.textContent") == "Tiers"
    assert page.locator("[data-nav='tiers']").get_attribute("aria-current") == "page"
    for route, name in (("members/x", "members"), ("churn", "churn"), ("program", "program")):
        open_page(page, route, name)
        unlabelled = page.evaluate("""() => [...document.querySelectorAll(
              'main input:not([type=hidden]):not([aria-hidden=true]), main select, main button')]
            .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label')
                          && !el.textContent.trim())
            .map(el => el.outerHTML)""")
        assert unlabelled == [], unlabelled
    # On a fresh load the skip link is the first stop, and it lands on the content.
    page.reload()
    wait_ready(page, "program")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "skip-link"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    assert page.evaluate("location.hash") == "#/program"  # the route is untouched


def test_text_colours_have_enough_contrast(page: Any):
    """WCAG AA: 4.5:1 for the body text, muted text, links and buttons on their backgrounds."""
    sign_in(page)
    wait_ready(page, "overview")
    ratios = page.evaluate("""() => {
        const rgb = s => s.match(/\\d+(\\.\\d+)?/g).slice(0, 3).map(Number);
        const lum = c => { const [r, g, b] = c.map(v => { v /= 255;
            return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; });
            return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
        const ratio = (a, b) => { const [x, y] = [lum(rgb(a)), lum(rgb(b))].sort((p, q) => q - p);
            return (x + 0.05) / (y + 0.05); };
        const bg = el => { while (el) { const c = getComputedStyle(el).backgroundColor;
            if (c && !c.endsWith(', 0)') && c !== 'transparent') return c; el = el.parentElement; }
            return 'rgb(255, 255, 255)'; };
        const pick = sel => document.querySelector(sel);
        return Object.fromEntries([['body', 'main h1'], ['muted', '.card dt'],
            ['nav', '#nav a'], ['brand', '#brand'], ['button', '.topbar .button'],
            ['primary', 'form .button, .toolbar .button']]
          .filter(([, s]) => pick(s))
          .map(([n, s]) => [n, ratio(getComputedStyle(pick(s)).color, bg(pick(s)))]));
    }""")
    assert len(ratios) >= 5, ratios
    assert all(r >= 4.5 for r in ratios.values()), ratios
