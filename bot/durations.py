"""Durations typed on the command line: a number and a unit (``90s``, ``5m``, ``12h``,
``30d``, ``2w``), for the options that take one (``kb gaps --since``, ``health
--max-silence``). Each command says which units it accepts."""

from __future__ import annotations

import re
from collections.abc import Collection
from datetime import timedelta

SECONDS = {"s": 1, "m": 60, "min": 60, "h": 3600, "d": 86400, "w": 604800}
_DURATION = re.compile(r"(\d{1,6})\s*([a-z]+)")


def parse_duration(text: str, units: Collection[str]) -> timedelta | None:
    """The duration, or None if ``text`` is not a number (not zero) and one of ``units``."""
    match = _DURATION.fullmatch(text.strip().lower())
    if not match or match.group(2) not in units or int(match.group(1)) == 0:
        return None
    return timedelta(seconds=int(match.group(1)) * SECONDS[match.group(2)])
