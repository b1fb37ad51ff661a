"""Back-office commands as an operator runs them: program versions, redemptions, sweeps, and
the demo."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from datetime import datetime, timedelta, timezone

import pytest

from engine.config import Settings
from engine.service import Incoming, Ledger
from engine.store import open_store
from tests.support.facts import order, registered


def loyalty(env: dict[str, str], *args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "engine.cli.main", *args], env=env,
                          capture_output=True, text=True, timeout=timeout)


# Redemptions happen at the wall clock's now (points expire a year after activation), so
# erin's history is set in the recent past.
NOW = datetime.now(timezone.utc).replace(microsecond=0)
SWEEP_AT = (NOW - timedelta(days=1)).isoformat()


def days_ago(days: int) -> str:
    return (NOW - timedelta(days=days)).isoformat()


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    data = tmp_path / "data"
    store = open_store(Settings.from_env({"LOYALTY_DATA_DIR": str(data)}))
    Ledger(store).handle([
        Incoming("loyalty.customers", 0, 0, registered("r-e", "erin", at=days_ago(40))),
        Incoming("loyalty.orders", 0, 0, order("o-e1", "erin", "700.00", at=days_ago(30))),
    ])
    store.close()
    return {**os.environ, "LOYALTY_DATA_DIR": str(data)}


def test_invalid_program_is_refused_naming_the_key_and_nothing_is_published(env, tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('currency = "SAR"\n[tiers.silver]\nthreshold = -3\n')
    refused = loyalty(env, "program", "publish", str(bad))
    assert refused.returncode != 0
    assert "tiers.silver.threshold" in refused.stderr
    shown = json.loads(loyalty(env, "program", "show", "--json").stdout)
    assert shown["version"] == 1 and len(shown["versions"]) == 1


def test_published_program_becomes_the_next_version(env, tmp_path):
    default = json.loads(loyalty(env, "program", "show", "--json").stdout)["text"]
    draft = tmp_path / "draft.toml"
    draft.write_text(default.replace("points = 50", "points = 75", 1))
    published = loyalty(env, "program", "publish", str(draft), "--effective-from",
                        "2025-06-01T00:00:00+03:00", "--json")
    assert published.returncode == 0, published.stderr
    assert json.loads(published.stdout)["version"] == 2
    shown = json.loads(loyalty(env, "program", "show", "--json").stdout)
    assert shown["version"] == 2 and "points = 75" in shown["text"]
    assert [v["version"] for v in shown["versions"]] == [1, 2]
    first = json.loads(loyalty(env, "program", "show", "--version", "1", "--json").stdout)
    assert "points = 50" in first["text"]
    same = loyalty(env, "program", "publish", str(draft))
    assert same.returncode != 0 and "identical" in same.stderr


def test_sweep_then_redeem_from_the_cli(env):
    swept = json.loads(loyalty(env, "sweep", "--now", SWEEP_AT, "--json").stdout)
    assert swept["changed"] == 1
    again = json.loads(loyalty(env, "sweep", "--now", SWEEP_AT, "--json").stdout)
    assert again["changed"] == 0 and again["events"] == 0
    before = json.loads(loyalty(env, "balance", "erin", "--json").stdout)
    assert before["pending"] == 0 and before["available"] == 800
    done = loyalty(env, "redeem", "erin", "free-shipping", "--request-id", "desk-1", "--json")
    assert done.returncode == 0, done.stderr
    coupon = json.loads(done.stdout)["coupon"]
    repeat = json.loads(loyalty(env, "redeem", "erin", "free-shipping", "--request-id", "desk-1",
                                "--json").stdout)
    assert repeat["coupon"] == coupon
    after = json.loads(loyalty(env, "balance", "erin", "--json").stdout)
    assert after["available"] == 800 - 250 and after["redeemed"] == 250
    short = loyalty(env, "redeem", "erin", "free-product:ANY", "--request-id", "desk-2")
    assert short.returncode != 0 and "550" in short.stderr


def test_demo_runs_every_rule_and_prints_a_summary(tmp_path):
    env = {**os.environ, "LOYALTY_DATA_DIR": str(tmp_path / "home")}
    demo = loyalty(env, "demo", "--customers", "120", timeout=300)
    assert demo.returncode == 0, demo.stderr[-2000:]
    out = demo.stdout
    members = int(re.search(r"members\s+│\s+([\d,]+)", out).group(1).replace(",", ""))
    assert members == 120
    for figure in ("points issued", "points redeemed", "points expired", "referral rewards",
                   "tier mix", "dead-lettered messages"):
        assert figure in out
    issued = int(re.search(r"points issued\s+│\s+([\d,]+)", out).group(1).replace(",", ""))
    assert issued > 0
    assert re.search(r"dead-lettered messages\s+│\s+5", out)
    assert "loyalty balance cust-" in out
