"""Signed storefront events (Standard Webhooks in Kafka headers): with the stores' secrets set,
only records signed by a known store, fresh and intact, reach the ledger; the rest are
dead-lettered with the reason, and no secret appears in any log."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from pathlib import Path

import orjson

from engine.signing import sign
from tests.fault.deploy import Expectation, deployment
from tests.fault.kafka import Record
from tests.fault.ledger import Probe
from tests.support.facts import order, registered

SECRET_A = "whsec_" + base64.b64encode(b"store-a: thirty-two bytes secret").decode()
SECRET_B = "whsec_" + base64.b64encode(b"store-b: another 32-byte secret!").decode()
SECRETS = f"store-a={SECRET_A},store-b={SECRET_B}"


def standard_signature(secret: str, msg_id: str, stamp: int, body: bytes) -> str:
    """The Standard Webhooks v1 signature, written from the specification."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    mac = hmac.new(key, f"{msg_id}.{stamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


def headers(store: str | None, secret: str, msg_id: str, body: bytes, stamp: int | None = None,
            signature: str | None = None) -> tuple[tuple[str, bytes], ...]:
    stamp = int(time.time()) if stamp is None else stamp
    out = [("webhook-id", msg_id.encode()), ("webhook-timestamp", str(stamp).encode()),
           ("webhook-signature",
            (signature or standard_signature(secret, msg_id, stamp, body)).encode())]
    if store is not None:
        out.append(("loyalty-store", store.encode()))
    return tuple(out)


def test_the_engine_signs_as_the_standard_says():
    body = order("o-1", "alice", "10.00")
    made = dict(sign(SECRET_A, "msg-1", 1_735_689_600, body, "store-a"))
    assert made["webhook-id"] == b"msg-1"
    assert made["webhook-timestamp"] == b"1735689600"
    assert made["webhook-signature"].decode() == standard_signature(
        SECRET_A, "msg-1", 1_735_689_600, body)
    assert made["loyalty-store"] == b"store-a"


def test_only_fresh_intact_records_of_known_stores_reach_the_ledger(tmp_path: Path):
    now = int(time.time())
    good: dict[str, bytes] = {
        "a-reg": registered("a-reg", "signed-a"), "a-ord": order("a-ord", "signed-a", "200.00"),
        "b-ord": order("b-ord", "signed-b", "80.00"),
        "ab-ord": order("ab-ord", "signed-a", "7.00"),
    }
    bad: dict[str, bytes] = {name: order(name, "victim", "9999.00") for name in (
        "unsigned", "stale", "future", "forged", "tampered", "other-store-secret",
        "unknown-store", "no-store-header", "v2-only", "garbage-signature", "no-timestamp")}
    records = [
        Record("loyalty.customers", b"signed-a", good["a-reg"],
               headers("store-a", SECRET_A, "a-reg", good["a-reg"])),
        Record("loyalty.orders", b"signed-a", good["a-ord"],
               headers("store-a", SECRET_A, "a-ord", good["a-ord"])),
        Record("loyalty.orders", b"signed-b", good["b-ord"],
               headers("store-b", SECRET_B, "b-ord", good["b-ord"])),
        # several signatures (a rotated secret): one valid v1 among them is enough
        Record("loyalty.orders", b"signed-a", good["ab-ord"], headers(
            "store-a", SECRET_A, "ab-ord", good["ab-ord"],
            signature="v1,AAAA " + standard_signature(SECRET_A, "ab-ord", now, good["ab-ord"]),
            stamp=now)),
        Record("loyalty.orders", b"victim", bad["unsigned"]),
        Record("loyalty.orders", b"victim", bad["stale"],
               headers("store-a", SECRET_A, "stale", bad["stale"], stamp=now - 3600)),
        Record("loyalty.orders", b"victim", bad["future"],
               headers("store-a", SECRET_A, "future", bad["future"], stamp=now + 3600)),
        Record("loyalty.orders", b"victim", bad["forged"], headers(
            "store-a", "whsec_" + base64.b64encode(b"x" * 32).decode(), "forged",
            bad["forged"])),
        Record("loyalty.orders", b"victim", bad["tampered"].replace(b"9999.00", b"9999.99"),
               headers("store-a", SECRET_A, "tampered", bad["tampered"])),
        Record("loyalty.orders", b"victim", bad["other-store-secret"],
               headers("store-a", SECRET_B, "other-store-secret", bad["other-store-secret"])),
        Record("loyalty.orders", b"victim", bad["unknown-store"],
               headers("store-z", SECRET_A, "unknown-store", bad["unknown-store"])),
        Record("loyalty.orders", b"victim", bad["no-store-header"],
               headers(None, SECRET_A, "no-store-header", bad["no-store-header"])),
        Record("loyalty.orders", b"victim", bad["v2-only"], headers(
            "store-a", SECRET_A, "v2-only", bad["v2-only"],
            signature=standard_signature(SECRET_A, "v2-only", now, bad["v2-only"])
            .replace("v1,", "v2,"), stamp=now)),
        Record("loyalty.orders", b"victim", bad["garbage-signature"], headers(
            "store-a", SECRET_A, "garbage-signature", bad["garbage-signature"],
            signature="v1,%%%not-base64%%%")),
        Record("loyalty.orders", b"victim", bad["no-timestamp"], tuple(
            h for h in headers("store-a", SECRET_A, "no-timestamp", bad["no-timestamp"])
            if h[0] != "webhook-timestamp")),
    ]
    with deployment(tmp_path, env={"LOYALTY_SIGNING_SECRETS": SECRETS}) as deployed:
        worker = deployed.procs.worker(health=False)
        deployed.publish(records)
        signed_line = order("cli-ord", "signed-cli", "55.00")
        (tmp_path / "signed.jsonl").write_bytes(signed_line + b"\n")
        cli = deployed.procs.spawn("publish", ["publish", str(tmp_path / "signed.jsonl")],
                                   {"LOYALTY_STORE_ID": "store-b",
                                    "LOYALTY_SIGNING_SECRET": SECRET_B})
        assert cli.popen.wait(timeout=60) == 0, cli.log()
        expect = Expectation(frozenset([*good, *bad, "cli-ord"]), dead_letters=len(bad))
        deployed.wait_caught_up(expect, timeout=120)
        probe = Probe(deployed.store_url)
        accepted = {r[0] for r in probe.query(
            "SELECT DISTINCT event_id FROM source_facts WHERE kind = 'fact'") or []}
        reasons = dict(probe.query("SELECT event_id, reason FROM dead_letters") or [])
        deployed.procs.close()
        logs = worker.full_log() + cli.full_log()
    assert accepted == {*good, "cli-ord"}
    assert set(reasons) == set(bad)
    for name, reason in reasons.items():
        assert any(word in reason.lower() for word in ("sign", "stale", "store", "timestamp")), \
            (name, reason)
    assert "stale" in reasons["stale"].lower() and "stale" in reasons["future"].lower()
    for secret in (SECRET_A, SECRET_B, SECRET_A.removeprefix("whsec_"),
                   SECRET_B.removeprefix("whsec_")):
        assert secret not in logs
    assert orjson.loads(signed_line)["event_id"] == "cli-ord"
