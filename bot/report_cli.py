"""``supportbot report``: the supervisors' KPIs of a period against their targets.

Bad input (an unreadable ``--since``, an unknown ``--by``, a file that cannot be written)
is refused with one line and status 2 before the database is touched; a report that
cannot be produced (no such database, nothing in the period) ends with one line and
status 1, through the CLI's error boundary. Never a traceback for either.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated, get_args

import typer

from bot.app import open_repository, utc_now
from bot.reports import Period, Report, ReportError, build_report, parse_period
from bot.reports.html_page import to_html
from bot.reports.spreadsheet import to_csv
from bot.settings import Settings
from bot.storage.db import missing_sqlite_file
from bot.storage.kpi_queries import GroupBy

BREAKDOWNS: tuple[GroupBy, ...] = get_args(GroupBy)


def report(
    ctx: typer.Context,
    since: Annotated[str, typer.Option(metavar="30d|DATE",
        help="Start: a duration back from the end (30d, 12h, 2w) or a local date/time "
             "(2026-03-01, 2026-03-01T09:00).")] = "30d",
    until: Annotated[str | None, typer.Option(metavar="DATE",
        help="End, not included: a local date/time (default: now).")] = None,
    by: Annotated[str | None, typer.Option(metavar="agent|category|channel",
        help="Also show every KPI per agent, category or channel.")] = None,
    html: Annotated[Path | None, typer.Option(metavar="FILE",
        help="Also write a self-contained HTML page with charts to this file.")] = None,
    csv: Annotated[Path | None, typer.Option(metavar="FILE",
        help="Also write the figures as CSV (one value per row) to this file.")] = None,
) -> None:  # fmt: skip
    """Print the KPIs of a period against their targets (definitions: docs/kpis.md)."""
    from bot.cli import run, settings_from

    settings = settings_from(ctx)
    try:
        period = parse_period(since, until, now=utc_now(), timezone=settings.hours.timezone)
        breakdown = _breakdown(by)
        for option, path in (("--html", html), ("--csv", csv)):
            _check_writable(option, path)
    except ReportError as exc:
        typer.echo(f"supportbot: {exc}", err=True)
        raise typer.Exit(2) from None

    async def go() -> Report:
        result = await produce(settings, period, breakdown)
        # A BOM, so that spreadsheet programs read the CSV as UTF-8 (customers' words).
        for path, text, encoding in ((html, to_html, "utf-8"), (csv, to_csv, "utf-8-sig")):
            if path is not None:
                _write(path, text(result), encoding)
        return result

    result = run(go())
    # rich (about 3 MB) only for the commands that draw tables: not for chat or serve.
    from rich.console import Console

    from bot.reports.table import render

    render(result, Console(width=None if sys.stdout.isatty() else 160))
    for label, path in (("HTML report", html), ("CSV", csv)):
        if path is not None:
            typer.echo(f"{label} written to {path}")


async def produce(settings: Settings, period: Period, by: GroupBy | None) -> Report:
    """The report of ``period`` from the configured database (the benchmark times this)."""
    _check_database_exists(settings)
    repo = await open_repository(settings)
    try:
        result = await build_report(repo.engine, settings, period, by)
    finally:
        await repo.close()
    if result.empty:
        raise ReportError(f"no contacts, cases or ratings from {period.describe()}; "
                          "nothing to report (try a longer --since)")  # fmt: skip
    return result


def _breakdown(by: str | None) -> GroupBy | None:
    if by is None:
        return None
    for name in BREAKDOWNS:
        if by.strip().lower() == name:
            return name
    raise ReportError(f"--by: expected {', '.join(BREAKDOWNS)}, not {by!r}")


def _check_writable(option: str, path: Path | None) -> None:
    if path is None:
        return
    folder = path.parent
    if path.is_dir():
        raise ReportError(f"{option}: {path} is a folder; give a file name")
    if not folder.is_dir():
        raise ReportError(f"{option}: the folder {folder} does not exist")
    if not os.access(folder, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise ReportError(f"{option}: cannot write to {path} (permission denied)")


def _write(path: Path, text: str, encoding: str) -> None:
    try:
        path.write_text(text, encoding=encoding)
    except OSError as exc:
        raise ReportError(f"cannot write {path}: {exc.strerror or exc}") from None


def _check_database_exists(settings: Settings) -> None:
    """A report never creates a database: a mistyped path should say so, not show zeros."""
    if (name := missing_sqlite_file(settings.database_url)) is not None:
        raise ReportError(f"the database {name} does not exist; nothing to report")
