"""``supportbot health``; registered by ``bot.cli``. For cron, systemd timers, monitors.

Exit status 0: every check passed; 1: at least one failed (the database out of reach
included); 2: options or settings that cannot run. See docs/operations.md.
"""

from __future__ import annotations

import json
import os
from datetime import timedelta
from typing import Annotated

import typer

from bot.app import open_repository, utc_now
from bot.durations import parse_duration
from bot.errors import DatabaseUnavailable, SupportBotError
from bot.health import ROLES
from bot.health_check import (
    Check,
    Limits,
    PlatformView,
    as_json,
    as_lines,
    assess,
    forget,
    gather,
    platform_check,
)
from bot.settings import Settings
from bot.storage.db import missing_sqlite_file
from bot.storage.repository import Repository

UNITS = ("s", "m", "min", "h", "d")
Duration = Annotated[
    str | None,
    typer.Option(metavar="90s|5m|20h", help="Default: the health section of the settings."),
]


def health(
    ctx: typer.Context,
    max_silence: Duration = None,
    max_delay: Duration = None,
    expect: Annotated[list[str] | None, typer.Option(metavar="ROLE",
        help="A role that must be alive (telegram, slack, worker; repeat for more). "
             "Default: every role that ever wrote a heartbeat here.")] = None,
    platforms: Annotated[bool, typer.Option(
        help="Also ask the platforms whose tokens are set (Telegram's getWebhookInfo).")] = True,
    forget_role: Annotated[str | None, typer.Option("--forget", metavar="ROLE",
        help="Remove a retired role's heartbeat, so that it is no longer expected.")] = None,
    as_json_: Annotated[bool, typer.Option("--json", help="One JSON object.")] = False,
) -> None:  # fmt: skip
    """Check that the bot's processes are alive and keeping up; exit 1 if not."""
    from bot.cli import run, settings_from

    settings = settings_from(ctx)
    h = settings.health
    silence = _duration("--max-silence", max_silence, h.max_silence_minutes)
    delay = _duration("--max-delay", max_delay, h.max_delay_minutes)
    for role in [*(expect or []), *([forget_role] if forget_role else [])]:
        if role not in ROLES:
            typer.echo(f"supportbot: unknown role {role!r}: use {', '.join(ROLES)}", err=True)
            raise typer.Exit(2)
    if forget_role:
        found = run(_forget(settings, forget_role))
        typer.echo(f"{forget_role}: " + ("forgotten" if found else "no heartbeat to forget"))
        return
    checks = run(_checks(settings, Limits(silence, delay), expect or [], platforms))
    if as_json_:
        typer.echo(json.dumps(as_json(checks), indent=2))
    else:
        typer.echo("\n".join(as_lines(checks)))
    if not all(c.ok for c in checks):
        raise typer.Exit(1)


def _duration(option: str, text: str | None, default_minutes: float) -> timedelta:
    if text is None:
        return timedelta(minutes=default_minutes)
    value = parse_duration(text, UNITS)
    if value is None:
        typer.echo(f"supportbot: {option} {text!r}: use a number and s, m, h or d, e.g. 5m",
                   err=True)  # fmt: skip
        raise typer.Exit(2)
    return value


async def _checks(
    settings: Settings, limits: Limits, expect: list[str], platforms: bool
) -> list[Check]:
    views = await _views() if platforms else []
    try:
        repo = await _open(settings)
        try:
            facts = await gather(repo)
        finally:
            await repo.close()
    except SupportBotError as exc:
        now = utc_now()
        failed = Check("database", False, str(exc))
        return [failed, *(platform_check(v, now, limits) for v in views)]
    return assess(facts, utc_now(), limits, expect=expect, views=views)


async def _views() -> list[PlatformView]:
    """The platforms whose tokens this environment holds."""
    views = []
    if os.environ.get("TELEGRAM_BOT_TOKEN"):
        from bot.channels.telegram.health import telegram_view
        from bot.channels.telegram.settings import load_telegram_settings

        views.append(await telegram_view(load_telegram_settings()))
    return views


async def _open(settings: Settings) -> Repository:
    """The database as it is: a health check never creates a SQLite file."""
    if (name := missing_sqlite_file(settings.database_url)) is not None:
        raise DatabaseUnavailable(f"the database {name} does not exist")
    return await open_repository(settings)


async def _forget(settings: Settings, role: str) -> bool:
    repo = await _open(settings)
    try:
        return await forget(repo, role)
    finally:
        await repo.close()
