"""Rich tables of the read side for the CLI: metrics, tier mix, churn grades, history."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from rich.table import Table

METRIC_ROWS = (
    ("orders", "Orders"), ("revenue", "Revenue"), ("average_order_value", "Average order value"),
    ("buyers", "Buyers"), ("purchase_frequency", "Purchase frequency (orders/buyer)"),
    ("repeat_purchase_rate", "Repeat-purchase rate"), ("redemption_rate", "Redemption rate"),
    ("points_issued", "Points issued"), ("points_redeemed", "Points redeemed"),
    ("points_reversed", "Points reversed"), ("points_expired", "Points expired"),
    ("liability_points", "Outstanding points"), ("liability_money", "Outstanding liability"),
    ("nps", "NPS"), ("survey_responses", "Survey responses"),
    ("active_members", "Active members"), ("new_members", "New members"),
    ("reviews_per_active_member", "Reviews per active member"),
    ("shares_per_active_member", "Shares per active member"),
)
SALES_COLUMNS = (
    ("orders", "orders"), ("average_order_value", "AOV"), ("buyers", "buyers"),
    ("purchase_frequency", "freq"), ("repeat_purchase_rate", "repeat"), ("nps", "NPS"),
    ("active_members", "active"),
)
POINTS_COLUMNS = (
    ("points_issued", "issued"), ("points_redeemed", "redeemed"),
    ("points_reversed", "reversed"), ("points_expired", "expired"),
    ("redemption_rate", "rate"), ("liability_points", "held"),
)
RATES = {"repeat_purchase_rate", "redemption_rate"}


def cell(name: str, value: Any, currency: str = "") -> str:
    if value is None:
        return "-"
    if name in RATES:
        return f"{value * 100:.1f}%"
    if name in ("revenue", "average_order_value", "liability_money"):
        return f"{Decimal(value):,} {currency}".strip()
    if name == "nps":
        return f"{value:.1f}"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.2f}"
    return str(value)


def metrics_tables(metrics: dict[str, Any]) -> list[Table]:
    currency = metrics["currency"]
    overall = Table(title=f"Program metrics {metrics['from']} to {metrics['to']}",
                    show_header=False)
    overall.add_column("", style="bold")
    overall.add_column("", justify="right")
    for name, label in METRIC_ROWS:
        overall.add_row(label, cell(name, metrics["overall"].get(name), currency))
    tables = [overall]
    for title, columns in (("Sales by month (UTC)", SALES_COLUMNS),
                           ("Points by month (UTC)", POINTS_COLUMNS)):
        monthly = Table(title=title)
        monthly.add_column("month", no_wrap=True)
        for _, label in columns:
            monthly.add_column(label, justify="right")
        for month in metrics.get("months") or []:
            monthly.add_row(month["month"], *(cell(n, month.get(n)) for n, _ in columns))
        tables.append(monthly)
    return tables


def tier_table(tiers: dict[str, Any]) -> Table:
    table = Table(title="Tier mix now")
    for column in ("tier", "members", "share"):
        table.add_column(column, justify="left" if column == "tier" else "right")
    for row in tiers["mix"]:
        table.add_row(row["tier"], f"{row['members']:,}", f"{row['share'] * 100:.1f}%")
    moves = tiers["history"]
    table.caption = (f"{sum(m['upgrades'] for m in moves):,} upgrades and "
                     f"{sum(m['downgrades'] for m in moves):,} downgrades in "
                     f"{len(moves)} months")
    return table


def grades_table(counts: dict[str, int]) -> Table:
    total = sum(counts.values())
    table = Table(title="Churn risk (RFM grades)")
    for column in ("grade", "members", "share"):
        table.add_column(column, justify="left" if column == "grade" else "right")
    for grade, members in counts.items():
        table.add_row(grade, f"{members:,}", f"{members * 100 / total:.1f}%" if total else "-")
    return table


def history_table(page: dict[str, Any]) -> Table:
    table = Table(title=f"History of {page['customer_id']}")
    for column in ("#", "at (UTC)", "event", "details"):
        table.add_column(column, overflow="fold")
    for item in page["items"]:
        details = ", ".join(f"{k}={v}" for k, v in item["data"].items()
                            if v not in (None, [], "") and k != "source_event_id")
        table.add_row(str(item["version"]), item["at"][:19], item["type"], details)
    if page["next"] is not None:
        table.caption = f"more: --after {page['next']}"
    return table
