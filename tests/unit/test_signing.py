"""Signed storefront records (Standard Webhooks convention in Kafka headers)."""

from __future__ import annotations

import base64

import pytest

from engine.errors import ConfigurationError, InvalidFact
from engine.signing import Verifier, parse_secrets, sign

SECRET = "whsec_" + base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()
OTHER = "whsec_" + base64.b64encode(b"fedcba9876543210fedcba9876543210").decode()
BODY = b'{"event_id":"e1"}'
T = 1_760_000_000


def verifier() -> Verifier:
    return Verifier({"shop-a": SECRET, "shop-b": OTHER}, tolerance=300)


def test_a_record_signed_by_its_store_verifies():
    verifier().verify(sign(SECRET, "e1", T, BODY, "shop-a"), BODY, produced_at=T + 10)


def test_signature_matches_the_standard_webhooks_test_vector():
    # The convention's published example: secret, id, timestamp, payload -> signature.
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    body = b'{"test": 2432232314}'
    headers = dict(sign(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body, "s"))
    assert headers["webhook-signature"] == b"v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


@pytest.mark.parametrize("mutate, reason", [
    (lambda h: [x for x in h if x[0] != "webhook-signature"], "unsigned"),
    (lambda h: [(k, b"shop-x" if k == "loyalty-store" else v) for k, v in h], "unknown store"),
    (lambda h: [(k, b"v1,AAAA" if k == "webhook-signature" else v) for k, v in h],
     "bad signature"),
])
def test_unsigned_unknown_or_forged_records_are_refused(mutate, reason):
    headers = mutate(sign(SECRET, "e1", T, BODY, "shop-a"))
    with pytest.raises(InvalidFact, match=reason):
        verifier().verify(headers, BODY, produced_at=T)


def test_a_body_changed_after_signing_is_refused():
    headers = sign(SECRET, "e1", T, BODY, "shop-a")
    with pytest.raises(InvalidFact, match="bad signature"):
        verifier().verify(headers, BODY.replace(b"e1", b"e2"), produced_at=T)


def test_another_stores_secret_does_not_verify():
    headers = sign(OTHER, "e1", T, BODY, "shop-a")
    with pytest.raises(InvalidFact, match="bad signature"):
        verifier().verify(headers, BODY, produced_at=T)


def test_a_signature_older_than_the_tolerance_is_stale():
    headers = sign(SECRET, "e1", T, BODY, "shop-a")
    verifier().verify(headers, BODY, produced_at=T + 300)
    with pytest.raises(InvalidFact, match="stale"):
        verifier().verify(headers, BODY, produced_at=T + 301)


def test_secrets_are_parsed_and_a_bad_one_is_named_without_echoing_it():
    assert parse_secrets(f"shop-a={SECRET}, shop-b={OTHER}") == {"shop-a": SECRET,
                                                                  "shop-b": OTHER}
    with pytest.raises(ConfigurationError) as caught:
        parse_secrets("shop-a=whsec_@@@not-base64")
    assert "shop-a" in str(caught.value) and "@@@" not in str(caught.value)
    assert parse_secrets("") == {}
