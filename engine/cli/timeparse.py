"""Times given on the command line: RFC 3339 with an offset, or a date (midnight UTC)."""

from __future__ import annotations

from datetime import datetime, timezone

import typer


def parse_time(value: str | None, *, name: str = "time") -> datetime:
    """``None`` means now (the caller's clock, read here at the edge, never inside an event)."""
    if value is None:
        return datetime.now(timezone.utc)
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(
            f"{name} must be an RFC 3339 time like 2025-06-30T12:00:00+03:00 or a date like "
            f"2025-06-30, got {value!r}"
        ) from None
    if parsed.tzinfo is None:
        if len(value) == 10:
            return parsed.replace(tzinfo=timezone.utc)
        raise typer.BadParameter(f"{name} needs a UTC offset, e.g. {value}+00:00")
    return parsed.astimezone(timezone.utc)
