"""``supportbot health``: is the deployment alive and keeping up? One line per check.

Read from the database (``bot/health.py`` explains the heartbeats), and from the
platforms where they can tell more: Telegram's ``getWebhookInfo`` says how many updates
it holds for the bot and why it last failed to deliver one, which catches a bot that runs
but that Telegram cannot reach. The checks:

- each role (``telegram``, ``slack``, ``worker``) that has ever beaten here, or those
  given with ``--expect``: a beat within ``max_silence``, and a poller that had reached
  its platform within ``max_silence`` when it wrote it;
- the outbox: no reply waiting longer than ``max_delay``;
- the inbox (separate workers): no message waiting longer than ``max_delay``;
- each platform asked: no recent delivery error while updates are waiting.

Anything else (the database out of reach, no such SQLite file) is a failed check too,
never a traceback: the command exists to be run by cron and monitors, whose only
question is its exit status.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.health import PREFIX, SLACK_RETRIES_FOR, TELEGRAM_KEEPS, Beat, span
from bot.storage import health_queries as q
from bot.storage.repository import Repository

PLATFORMS = {"telegram": "Telegram", "slack": "Slack"}


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


@dataclass(frozen=True)
class PlatformView:
    """What a platform says about the bot: updates it holds, its last delivery error."""

    name: str
    pending: int = 0
    url: str = ""  # the webhook it delivers to ("" when the bot polls)
    last_error: str | None = None
    last_error_at: datetime | None = None
    unreachable: str | None = None  # why the platform could not be asked


@dataclass(frozen=True)
class Facts:
    beats: dict[str, Beat]
    outbox: q.Waiting
    inbox: q.Waiting


@dataclass(frozen=True)
class Limits:
    max_silence: timedelta
    max_delay: timedelta


async def gather(repo: Repository) -> Facts:
    async with repo.transaction() as tx:
        rows = await q.beats(tx.session, PREFIX)
        outbox = await q.outbox_waiting(tx.session)
        inbox = await q.inbox_waiting(tx.session)
    return Facts({role: Beat.decode(role, value, at) for role, value, at in rows}, outbox, inbox)


async def forget(repo: Repository, role: str) -> bool:
    async with repo.transaction() as tx:
        return await q.forget_beat(tx.session, PREFIX + role)


def assess(
    facts: Facts, now: datetime, limits: Limits, *, expect: Iterable[str] = (),
    views: Sequence[PlatformView] = (),
) -> list[Check]:  # fmt: skip
    roles = sorted(set(expect) or set(facts.beats))
    checks = [_role(r, facts.beats.get(r), now, limits) for r in roles] or [
        Check("processes", False, "no process has written a heartbeat to this database yet")
    ]
    checks.append(_queue("outbox", facts.outbox, now, limits, "replies and notices"))
    if facts.inbox.count or "worker" in roles:
        checks.append(_queue("inbox", facts.inbox, now, limits, "received messages"))
    checks.extend(platform_check(view, now, limits) for view in views)
    return checks


def _role(role: str, beat: Beat | None, now: datetime, limits: Limits) -> Check:
    if beat is None:
        return Check(role, False, "never seen alive on this database")
    silence = max(now - beat.at, timedelta(0))
    who = f"{beat.host}, pid {beat.pid}"
    if silence > limits.max_silence:
        lost = _lost(role, silence)
        return Check(role, False, f"no sign of life for {span(silence)} (last: {who}){lost}")
    detail = f"alive {span(silence)} ago ({who}, up {span(beat.at - beat.since)})"
    platform = PLATFORMS.get(role, role)
    away = beat.out_of_contact
    if away is not None and away > limits.max_silence:
        return Check(role, False, f"running, but has not reached {platform} for {span(away)} "
                                  f"({who}){_lost(role, away)}")  # fmt: skip
    if away is not None:
        detail += f"; reached {platform} {span(away)} before"
    return Check(role, True, detail)


def _lost(role: str, gone: timedelta) -> str:
    """What the platform does with the messages meanwhile."""
    if role == "telegram":
        if gone >= TELEGRAM_KEEPS:
            return "; Telegram has deleted updates older than 24 h"
        left = span(TELEGRAM_KEEPS - gone)
        return f"; Telegram deletes undelivered updates after 24 h: {left} left"
    if role == "slack" and gone >= SLACK_RETRIES_FOR:
        return "; Slack has dropped the events it could not deliver"
    return ""


def _queue(name: str, waiting: q.Waiting, now: datetime, limits: Limits, what: str) -> Check:
    if not waiting.count or waiting.oldest is None:
        return Check(name, True, f"no {what} waiting")
    age = max(now - waiting.oldest, timedelta(0))
    failing = f", {waiting.failing} failed at least once" if waiting.failing else ""
    detail = f"{what} waiting: {waiting.count}, the oldest for {span(age)}{failing}"
    return Check(name, age <= limits.max_delay, detail)


def platform_check(view: PlatformView, now: datetime, limits: Limits) -> Check:
    if view.unreachable is not None:
        return Check(view.name, False, f"could not be asked: {view.unreachable}")
    how = f"delivers to {view.url}" if view.url else "waits to be polled"
    detail = f"{view.pending} updates waiting; {how}"
    if view.last_error_at is not None:
        ago = max(now - view.last_error_at, timedelta(0))
        detail += f"; last delivery error {span(ago)} ago: {view.last_error}"
        if view.pending and ago <= limits.max_silence:
            return Check(view.name, False, detail)
    return Check(view.name, True, detail)


def as_json(checks: Sequence[Check]) -> dict[str, Any]:
    return {"healthy": all(c.ok for c in checks), "checks": [asdict(c) for c in checks]}


def as_lines(checks: Sequence[Check]) -> list[str]:
    width = max(len(c.name) for c in checks)
    return [f"{'ok' if c.ok else 'FAIL':4}  {c.name:{width}}  {c.detail}" for c in checks]
