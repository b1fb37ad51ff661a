"""Share rule: points per share, at most ``share_cap`` rewarded shares per rolling window."""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from datetime import datetime, timedelta

from engine.program.model import Program
from engine.rules.outcome import Award, Nothing, Outcome

HORIZON = timedelta(days=365)  # the longest window a program may set; older times are dropped


def shares_in_window(times: Sequence[datetime], at: datetime, window_days: int) -> int:
    """Rewarded shares in (at - window, at]; ``times`` is sorted."""
    start = at - timedelta(days=window_days)
    return bisect.bisect_right(times, at) - bisect.bisect_right(times, start)


def share_outcome(event_id: str, at: datetime, times: Sequence[datetime],
                  program: Program) -> Outcome:
    if program.share_points <= 0:
        return Nothing("shares earn no points in this program")
    count = shares_in_window(times, at, program.share_window_days)
    if count >= program.share_cap:
        return Nothing(f"share cap reached: {count} shares already rewarded in the last "
                       f"{program.share_window_days} days (at most {program.share_cap})")
    return Award("share", f"{event_id}:share", program.share_points)


def remember(times: list[datetime], at: datetime) -> None:
    """Insert a rewarded share time, keeping the list sorted and within the horizon."""
    bisect.insort(times, at)
    cutoff = times[-1] - HORIZON
    if times[0] < cutoff:
        del times[: bisect.bisect_left(times, cutoff)]
