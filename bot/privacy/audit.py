"""The audit trail as people read it: ``supportbot audit [--since 7d] [--case N]
[--actor NAME] [--json]``. Events are written where the actions happen (the desk, export,
erasure, retention) through ``privacy_queries.add_audit``; this module only reads."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any

from bot.storage import privacy_queries as q
from bot.storage.models import AuditEvent
from bot.storage.repository import Repository

_SPAN = re.compile(r"(\d+)\s*([mhdw])")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_since(text: str, now: datetime, zone: tzinfo) -> datetime:
    """``7d``, ``12h``, ``30m``, ``2w`` back from now, or a date/time (``2026-03-01``)."""
    text = text.strip()
    span = _SPAN.fullmatch(text)
    if span:
        return now - timedelta(**{_UNITS[span.group(2)]: int(span.group(1))})
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        try:
            moment = datetime.combine(date.fromisoformat(text), time())
        except ValueError:
            msg = f"--since {text!r}: use 7d, 12h, 30m, 2w or a date such as 2026-03-01"
            raise ValueError(msg) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=zone)


async def events(repo: Repository, where: q.AuditFilter) -> list[AuditEvent]:
    async with repo.transaction() as tx:
        return await q.audit_events(tx, where)


def as_json(event: AuditEvent) -> dict[str, Any]:
    return {
        "id": event.id,
        "at": event.at.isoformat(),
        "actor": event.actor,
        "action": event.action,
        "case": event.case_id,
        "customer": event.customer_id,
        "detail": event.detail,
    }


def target(event: AuditEvent) -> str:
    parts = []
    if event.case_id is not None:
        parts.append(f"case #{event.case_id}")
    if event.customer_id is not None:
        parts.append(f"customer {event.customer_id}")
    return ", ".join(parts) or "-"


def describe(detail: dict[str, Any]) -> str:
    """Details in one line: counts summed, the rest as key=value."""
    out = []
    for key, value in detail.items():
        if isinstance(value, dict):
            value = sum(v for v in value.values() if isinstance(v, int))
            key = f"{key} (total)"
        if value not in (None, [], {}, False):
            out.append(f"{key}={value}")
    return " ".join(out)
