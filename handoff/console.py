"""``supportbot cases``: the local agents' console, run beside a customer's chat."""

from __future__ import annotations

import dataclasses
import getpass
import json
import sys
from collections.abc import Awaitable, Callable, Mapping
from typing import Annotated

import typer

from bot.delivery import Sender
from handoff.service import Desk

cases_app = typer.Typer(help="Agents: list, take over and resolve escalated cases.",
                        no_args_is_help=True)  # fmt: skip
Agent = Annotated[str, typer.Option("--agent", help="Your agent name.")]
Number = Annotated[int, typer.Argument(help="Case number.", min=1)]


def _with_desk(
    ctx: typer.Context,
    action: Callable[[Desk], Awaitable[str | None]],
    senders: Mapping[str, Sender] | None = None,
) -> None:
    """Run one agent action on the configured database; print its answer."""
    from bot.app import running_app
    from bot.cli import run, settings_from

    settings = settings_from(ctx)

    async def go() -> str | None:
        async with running_app(settings, senders=senders) as app:
            return await action(app.desk)

    result = run(go())
    if result:
        typer.echo(result)


@cases_app.command("list")
def list_cases(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    include_closed: Annotated[bool, typer.Option("--all", help="Resolved and closed too.")] = False,
) -> None:
    """Open cases (all cases with --all)."""

    async def act(desk: Desk) -> str | None:
        cases = await desk.cases(include_closed=include_closed)
        if as_json:
            return json.dumps([dataclasses.asdict(c) for c in cases], ensure_ascii=False)
        if not cases:
            return "No open cases."
        from rich.console import Console  # (rich only where a table is drawn)
        from rich.markup import escape
        from rich.table import Table

        table = Table(
            "#", "status", "priority", "category", "reason", "agent", "customer", "question"
        )
        for c in cases:  # customers' words are not markup (e.g. "[card ending 1111]")
            cells = (str(c.number), c.status, c.priority, c.category, c.reason,
                     c.agent or "-", c.customer or "-", c.summary[:60])  # fmt: skip
            table.add_row(*map(escape, cells))
        Console(width=160).print(table)
        return None

    _with_desk(ctx, act)


@cases_app.command()
def show(ctx: typer.Context, number: Number,
         agent: Annotated[str | None, typer.Option(help="Who is looking (audited; "
                                                   "default: your login).")] = None,
         ) -> None:  # fmt: skip
    """A case's card, transcript (internal notes marked) and audit trail."""
    viewer = agent or getpass.getuser()
    _with_desk(ctx, lambda desk: desk.show(number, by=viewer))


@cases_app.command()
def claim(ctx: typer.Context, number: Number, agent: Agent) -> None:
    """Take over a case: the bot goes silent and relays."""
    _with_desk(ctx, lambda desk: desk.claim(number, agent))


@cases_app.command()
def reply(ctx: typer.Context, number: Number, text: Annotated[str, typer.Argument()],
          agent: Agent) -> None:  # fmt: skip
    """Send a message to the case's customer (claims an unclaimed case)."""
    _with_desk(ctx, lambda desk: desk.reply(number, agent, text))


@cases_app.command()
def update(ctx: typer.Context, number: Number, text: Annotated[str, typer.Argument()],
           agent: Agent) -> None:  # fmt: skip
    """Tell the customer how their case is progressing (does not wait for an answer)."""
    _with_desk(ctx, lambda desk: desk.reply(number, agent, text, progress=True))


@cases_app.command()
def note(ctx: typer.Context, number: Number, text: Annotated[str, typer.Argument()],
         agent: Agent) -> None:  # fmt: skip
    """Add an internal note, never shown to the customer."""
    _with_desk(ctx, lambda desk: desk.note(number, agent, text))


@cases_app.command()
def resolve(ctx: typer.Context, number: Number, agent: Agent,
            summary: Annotated[str, typer.Option(help="What was done, for the customer.")] = "",
            ) -> None:  # fmt: skip
    """Resolve the case and hand the chat back to the bot (which asks for CSAT)."""
    _with_desk(ctx, lambda desk: desk.resolve(number, agent, summary))


@cases_app.command()
def export(ctx: typer.Context, number: Number, agent: Agent) -> None:
    """Send the customer a copy of their data, as a file in their chat (verified only)."""
    _with_desk(ctx, lambda desk: desk.export(number, agent))


@cases_app.command()
def reassign(ctx: typer.Context, number: Number,
             to: Annotated[str, typer.Option("--to", help="The agent who takes it over.")],
             by: Annotated[str, typer.Option("--by", help="Your name (the supervisor).")],
             ) -> None:  # fmt: skip
    """Supervisors: give a case to another agent."""
    _with_desk(ctx, lambda desk: desk.reassign(number, by, to))


@cases_app.command()
def watch(ctx: typer.Context) -> None:
    """Print new cases and customers' messages on cases as they arrive (Ctrl-C to stop)."""
    from bot.channels.local import DeskPrinter, watch_desk

    async def act(desk: Desk) -> None:
        await watch_desk(desk.engine)

    _with_desk(ctx, act, senders={"desk": DeskPrinter(sys.stdout)})


agents_app = typer.Typer(help="Agents: say whether you are available.", no_args_is_help=True)
Name = Annotated[str, typer.Argument(help="Agent name.")]
Groups = Annotated[
    str | None, typer.Option(help="Comma-separated routing groups (default: all, or unchanged).")
]


def _groups(text: str | None) -> list[str] | None:
    return [g.strip() for g in text.split(",") if g.strip()] if text else None


@agents_app.command()
def available(ctx: typer.Context, name: Name, groups: Groups = None) -> None:
    """Mark an agent available (cases are promised to be answered now)."""
    _with_desk(ctx, lambda desk: desk.set_availability(name, True, _groups(groups)))


@agents_app.command()
def away(ctx: typer.Context, name: Name) -> None:
    """Mark an agent away."""
    _with_desk(ctx, lambda desk: desk.set_availability(name, False))


@agents_app.command("list")
def list_agents(ctx: typer.Context) -> None:
    """Who is available, and in which groups."""

    async def act(desk: Desk) -> str:
        rows = await desk.agents()
        if not rows:
            return "No agents registered: availability is not tracked."
        return "\n".join(f"{n}: {s} ({', '.join(g) or 'all groups'})" for n, s, g in rows)

    _with_desk(ctx, act)
