"""``supportbot privacy`` (export, erase, retention) and ``supportbot audit``: the
data-protection officer's commands. They open the database only (no knowledge base, no
channel), and every one that touches a customer's data is recorded in the audit trail.
"""

from __future__ import annotations

import getpass
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, TypeVar
from zoneinfo import ZoneInfo

import typer

from bot.app import open_repository, utc_now
from bot.errors import SupportBotError
from bot.privacy import audit as trail
from bot.privacy import erasure, export, retention
from bot.settings import Settings
from bot.storage.privacy_queries import AuditFilter, find_customer
from bot.storage.repository import Repository

T = TypeVar("T")
privacy_app = typer.Typer(help="Customers' data: export, erasure, retention.",
                          no_args_is_help=True)  # fmt: skip
Ref = Annotated[str | None, typer.Option("--customer", help="telegram:123, slack:U123, "
                                         "local:anna, an email, or a customer id.")]  # fmt: skip
CaseOpt = Annotated[int | None, typer.Option("--case", help="The customer of this case.", min=1)]
By = Annotated[str, typer.Option("--by", help="Your name, for the audit trail.")]


class UsageError(SupportBotError):
    pass


def _with_repo(ctx: typer.Context, action: Callable[[Repository, Settings], Awaitable[T]]) -> T:
    from bot.cli import run, settings_from

    settings = settings_from(ctx)

    async def go() -> T:
        repo = await open_repository(settings)
        try:
            return await action(repo, settings)
        finally:
            await repo.close()

    return run(go())


def _one_of(ref: str | None, case: int | None) -> None:
    if (ref is None) == (case is None):
        raise UsageError("Name the customer with --customer REF or --case N (one of them).")


@privacy_app.command("export")
def export_command(
    ctx: typer.Context, customer: Ref = None, case: CaseOpt = None,
    out: Annotated[Path | None, typer.Option(help="Write the JSON here (default: print).")] = None,
    by: Annotated[str | None, typer.Option(help="Your name (default: your login).")] = None,
) -> None:  # fmt: skip
    """Everything stored about a customer, as one JSON document with a transcript."""

    async def act(repo: Repository, settings: Settings) -> str:
        _one_of(customer, case)
        who = by or getpass.getuser()
        document = await export.export(repo, customer, by=who, now=utc_now(), case=case)
        text = json.dumps(document, ensure_ascii=False, indent=2)
        if out is None:
            return text
        out.write_text(text + "\n", encoding="utf-8")
        records = sum(len(rows) for rows in document["records"].values())
        return f"Exported customer {document['customer_id']}: {records} records to {out}."

    typer.echo(_with_repo(ctx, act))


@privacy_app.command()
def erase(
    ctx: typer.Context, by: By, customer: Ref = None, case: CaseOpt = None,
    reason: Annotated[str, typer.Option(help="Why (e.g. the request's case number).")] = "",
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
) -> None:  # fmt: skip
    """Delete or anonymise every personal record of a customer (cannot be undone)."""

    async def act(repo: Repository, settings: Settings) -> str:
        _one_of(customer, case)
        if not reason.strip():
            raise UsageError("Give the reason for the audit trail: --reason TEXT.")
        if not yes:
            number, name, counts = await erasure.preview(repo, customer, case=case)
            typer.echo(f"Customer {number} ({name or 'no name'}): {sum(counts.values())} "
                       f"records in {sum(1 for n in counts.values() if n)} tables.")  # fmt: skip
            typer.confirm("Erase them for good?", abort=True)
        report = await erasure.erase(repo, customer, by=by, reason=reason, now=utc_now(),
                                     case=case)  # fmt: skip
        tables = ", ".join(f"{t} {n}" for t, n in report.counts.items() if n) or "none"
        lines = [f"Erased customer {report.customer_id}: {report.total} records ({tables})."]
        if report.already_erased:
            lines.append("They had been erased before; what was left is anonymised again.")
        if report.closed_cases:
            lines.append(f"Closed their open cases: {', '.join(map(str, report.closed_cases))}.")
        if not report.file_scrubbed:
            lines.append("The freed space could not be overwritten yet (SQLite: another "
                         "process holds the WAL; PostgreSQL: VACUUM failed, see the log); "
                         "it is overwritten later.")  # fmt: skip
        return "\n".join([*lines, "Recorded in the audit trail (supportbot audit)."])

    typer.echo(_with_repo(ctx, act))


@privacy_app.command("retention")
def retention_command(
    ctx: typer.Context,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only count.")] = False,
) -> None:
    """Purge what is past its retention time now (the bot also does it daily)."""

    async def act(repo: Repository, settings: Settings) -> str:
        from rich.console import Console  # (rich only where a table is drawn)
        from rich.markup import escape
        from rich.table import Table

        report = await retention.apply(repo, settings.retention, utc_now(), dry_run=dry_run)
        title = "Would purge" if dry_run else "Purged"
        table = Table("kind", "table", "records", title=escape(f"{title} (settings [retention])"))
        for key, count in report.counts().items():
            kind, _, name = key.partition(".")
            table.add_row(kind, name, str(count))
        Console(width=100).print(table)
        return f"{title}: {report.total} records in all."

    typer.echo(_with_repo(ctx, act))


def audit(
    ctx: typer.Context,
    since: Annotated[str | None, typer.Option(help="7d, 12h, 30m or a date.")] = None,
    case: CaseOpt = None,
    actor: Annotated[str | None, typer.Option(help="Only this agent or supervisor.")] = None,
    customer: Ref = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Who did what to cases and customers' data (append-only)."""

    async def act(repo: Repository, settings: Settings) -> str | None:
        zone = ZoneInfo(settings.hours.timezone)
        try:
            start = trail.parse_since(since, utc_now(), zone) if since else None
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        who = None
        if customer is not None:
            async with repo.transaction() as tx:
                who = await find_customer(tx, customer)
            who = -1 if who is None else who
        where = AuditFilter(since=start, case_id=case, actor=actor, customer_id=who)
        events = await trail.events(repo, where)
        if as_json:
            return json.dumps([trail.as_json(e) for e in events], ensure_ascii=False)
        if not events:
            return "No audit events match."
        from rich.console import Console  # (rich only where a table is drawn)
        from rich.markup import escape
        from rich.table import Table

        table = Table("time", "actor", "action", "target", "details")
        for e in events:
            cells = (f"{e.at.astimezone(zone):%Y-%m-%d %H:%M:%S}", e.actor, e.action,
                     trail.target(e), trail.describe(e.detail))  # fmt: skip
            table.add_row(*map(escape, cells))
        Console(width=160).print(table)
        return None

    result = _with_repo(ctx, act)
    if result:
        typer.echo(result)
