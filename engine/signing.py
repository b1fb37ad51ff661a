"""Signed storefront events, after the Standard Webhooks convention, carried in Kafka headers.

A storefront signs ``{webhook-id}.{webhook-timestamp}.{body}`` with HMAC-SHA256 under its own
secret (``whsec_<base64>``) and names itself in ``loyalty-store``. When the worker is given the
stores' secrets, every storefront record must carry a valid, fresh signature; anything else is
dead-lettered with the reason. Freshness is judged against the record's Kafka timestamp (when
it was produced), so a worker catching up on a backlog does not refuse honest old records, while
a captured record produced again later is stale.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone

from standardwebhooks import Webhook

from engine.errors import ConfigurationError, InvalidFact

ID_HEADER = "webhook-id"
TIMESTAMP_HEADER = "webhook-timestamp"
SIGNATURE_HEADER = "webhook-signature"
STORE_HEADER = "loyalty-store"
DEFAULT_TOLERANCE = 300

Headers = Sequence[tuple[str, bytes]]


def sign(secret: str, msg_id: str, timestamp: int, body: bytes, store: str) -> list[tuple[str, bytes]]:
    """The Kafka headers that sign ``body`` for ``store``."""
    signature = Webhook(secret).sign(
        msg_id, datetime.fromtimestamp(timestamp, tz=timezone.utc), body.decode("utf-8")
    )
    return [
        (ID_HEADER, msg_id.encode()),
        (TIMESTAMP_HEADER, str(timestamp).encode()),
        (SIGNATURE_HEADER, signature.encode()),
        (STORE_HEADER, store.encode()),
    ]


def parse_secrets(spec: str) -> dict[str, str]:
    """``"store-a=whsec_...,store-b=whsec_..."`` -> {store: secret}; checks each secret decodes."""
    secrets: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in spec.split(","))):
        store, sep, secret = item.partition("=")
        if not sep or not store or not secret:
            raise ConfigurationError(
                "LOYALTY_SIGNING_SECRETS must look like store-a=whsec_<base64>,store-b=..."
            )
        try:
            Webhook(secret)
        except (binascii.Error, ValueError, Exception):
            # name the store, never echo the secret
            raise ConfigurationError(f"the signing secret of store {store!r} is not "
                                     "whsec_<base64>") from None
        secrets[store] = secret
    return secrets


@dataclass(frozen=True)
class Verifier:
    """Checks the signature headers of storefront records."""

    secrets: dict[str, str]
    tolerance: int = DEFAULT_TOLERANCE

    def verify(self, headers: Headers, body: bytes, produced_at: float) -> None:
        """Raise InvalidFact with the reason when the record is unsigned, stale or forged.

        ``produced_at`` is the record's Kafka timestamp in seconds."""
        found = {name.lower(): value for name, value in headers}
        missing = [h for h in (ID_HEADER, TIMESTAMP_HEADER, SIGNATURE_HEADER, STORE_HEADER)
                   if not found.get(h)]
        if missing:
            raise InvalidFact(f"unsigned record: missing header(s) {', '.join(missing)}")
        store = found[STORE_HEADER].decode("utf-8", "replace")
        secret = self.secrets.get(store)
        if secret is None:
            raise InvalidFact(f"record signed for unknown store {store!r}")
        try:
            stamp = int(found[TIMESTAMP_HEADER])
        except ValueError:
            raise InvalidFact("webhook-timestamp is not unix seconds") from None
        if abs(produced_at - stamp) > self.tolerance:
            raise InvalidFact(f"stale signature: signed {int(produced_at - stamp)}s before the "
                              f"record was produced (tolerance {self.tolerance}s)")
        try:
            expected = sign(secret, found[ID_HEADER].decode(), stamp, body, store)[2][1]
        except UnicodeDecodeError:
            raise InvalidFact("signed body is not UTF-8") from None
        offered = found[SIGNATURE_HEADER].decode("ascii", "replace").split(" ")
        want = base64.b64decode(expected.decode().split(",", 1)[1])
        for candidate in offered:
            version, _, value = candidate.partition(",")
            if version != "v1":
                continue
            try:
                given = base64.b64decode(value, validate=True)
            except binascii.Error:
                continue
            if hmac.compare_digest(want, given):
                return
        raise InvalidFact(f"bad signature for store {store!r}")
