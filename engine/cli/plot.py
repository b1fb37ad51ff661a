"""``loyalty report --plot``: the report as one PNG (matplotlib, no display needed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

GRADE_COLOURS = {"champion": "#2e7d32", "loyal": "#1976d2", "regular": "#9e9e9e",
                 "at_risk": "#d32f2f"}


def draw_report(data: dict[str, Any], path: Path) -> None:
    """Points issued/redeemed/expired and outstanding per month, buyers and active members
    per month, the tier mix over time, and the churn grades."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    months = data["metrics"].get("months") or []
    labels = [m["month"] for m in months]
    fig, axes = plt.subplots(2, 2, figsize=(14, 9), constrained_layout=True)
    fig.suptitle(f"Loyalty program report, {data['metrics']['from']} to "
                 f"{data['metrics']['to']}")
    points = axes[0][0]
    for name, label in (("points_issued", "issued"), ("points_redeemed", "redeemed"),
                        ("points_expired", "expired")):
        points.plot(labels, [m[name] for m in months], marker="o", label=label)
    held = points.twinx()
    held.plot(labels, [m["liability_points"] for m in months], color="#6a1b9a", linestyle="--",
              label="outstanding (right)")
    points.set_title("Points per month")
    points.legend(loc="upper left")
    held.legend(loc="upper center")
    members = axes[0][1]
    members.bar(labels, [m["active_members"] for m in months], label="active members",
                color="#90caf9")
    members.plot(labels, [m["buyers"] for m in months], marker="o", color="#0d47a1",
                 label="buyers")
    members.set_title("Members per month")
    members.legend()
    _tiers(axes[1][0], data["tiers"])
    grades = axes[1][1]
    names = list(data["churn"])
    grades.bar(names, [data["churn"][g] for g in names],
               color=[GRADE_COLOURS.get(g, "#607d8b") for g in names])
    grades.set_title("Churn risk grades")
    for axis in (points, members, axes[1][0]):
        axis.tick_params(axis="x", labelrotation=45)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _tiers(axis: Any, tiers: dict[str, Any]) -> None:
    history = tiers["history"]
    names = [row["tier"] for row in tiers["mix"]]
    labels = [row["month"] for row in history]
    if history:
        axis.stackplot(labels, *[[row["members"].get(n, 0) for row in history] for n in names],
                       labels=names)
        axis.legend(loc="upper left")
    axis.set_title("Members per tier (month end)")
