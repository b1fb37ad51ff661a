"""Query parameters the read endpoints share, checked with errors a person can act on (400)."""

from __future__ import annotations

import re
from datetime import datetime, timezone

from fastapi import HTTPException

MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
MAX_PAGE = 500


def parse_time(value: str, name: str) -> datetime:
    """An RFC 3339 time with an offset, or a date (midnight UTC at its start). A ``+`` that a
    client forgot to encode arrives as a space and is read as ``+``."""
    text = value.strip()
    if len(text) > 10 and " " in text[10:]:
        text = text[:10] + text[10:].replace(" ", "+")
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise HTTPException(status_code=400, detail=(
            f"{name} must be an RFC 3339 time like 2025-06-30T12:00:00%2B03:00 (with the + "
            f"encoded as %2B) or a date like 2025-06-30, got {value!r}")) from None
    if parsed.tzinfo is None:
        if len(text) != 10:
            raise HTTPException(status_code=400,
                                detail=f"{name} needs a UTC offset, e.g. {text}Z")
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc)


def check_month(value: str | None, name: str) -> str | None:
    if value is not None and not MONTH.match(value):
        raise HTTPException(status_code=400,
                            detail=f"{name} must be a month like 2025-06, got {value!r}")
    return value
