"""The ``supportbot`` command: local chat, agents' console, knowledge base, database.

One error boundary: an expected failure (``SupportBotError``) prints one clear line and
exits with status 1 (2 for bad settings); anything else is a bug and shows a traceback.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import sys
from collections.abc import Coroutine
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from bot.app import running_app
from bot.bench.cli import bench
from bot.channels.local import CHANNEL, TerminalSender, run_chat
from bot.db_cli import db_copy, db_current
from bot.errors import ConfigError, SupportBotError
from bot.health_cli import health
from bot.kb_cli import kb_app
from bot.privacy_cli import audit, privacy_app
from bot.report_cli import report
from bot.settings import Settings, load_settings
from bot.storage.db import create_engine, upgrade
from bot.worker_cli import serve, worker
from handoff.console import agents_app, cases_app

T = TypeVar("T")
app = typer.Typer(
    help="Customer-support bot with human handoff.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
run_app = typer.Typer(help="Run the bot on a messaging platform.", no_args_is_help=True)
app.add_typer(cases_app, name="cases")
app.add_typer(agents_app, name="agents")
app.add_typer(kb_app, name="kb")
app.add_typer(db_app, name="db")
app.add_typer(run_app, name="run")
app.add_typer(privacy_app, name="privacy")
app.command("audit")(audit)
app.command("report")(report)
app.command("health")(health)
app.command("bench")(bench)
app.command("worker")(worker)
app.command("serve")(serve)
# Each platform's command module imports its framework (aiogram, slack-bolt) only when
# the command runs, so the other commands start fast and light.
CHANNEL_COMMANDS = {
    "telegram": "bot.channels.telegram.command",
    "slack": "bot.channels.slack.command",
}


def _register_channel_commands() -> None:
    for name, module_name in CHANNEL_COMMANDS.items():
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name and module_name.startswith(exc.name):
                continue  # that channel is not part of this installation
            raise
        run_app.command(name)(module.command)


_register_channel_commands()


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine behind the error boundary."""
    try:
        return asyncio.run(coro)
    except ConfigError as exc:
        typer.echo(f"supportbot: {exc}", err=True)
        raise typer.Exit(2) from None
    except SupportBotError as exc:
        logging.getLogger("supportbot.cli").info("refused: %s", exc)
        typer.echo(f"supportbot: {exc}", err=True)
        raise typer.Exit(1) from None


def settings_from(ctx: typer.Context) -> Settings:
    try:
        return load_settings(ctx.obj.get("config") if ctx.obj else None)
    except ConfigError as exc:
        typer.echo(f"supportbot: {exc}", err=True)
        raise typer.Exit(2) from None


@app.callback()
def main_options(
    ctx: typer.Context,
    config: Annotated[Path | None, typer.Option(help="Settings file (TOML).")] = None,
    log_level: Annotated[str, typer.Option(help="DEBUG, INFO, WARNING or ERROR.")] = "WARNING",
) -> None:
    logging.basicConfig(
        level=getattr(logging, log_level.upper(), logging.WARNING),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    ctx.obj = {"config": config}


@app.command()
def chat(
    ctx: typer.Context,
    user: Annotated[str, typer.Option(help="Your customer id on the local channel.")],
    name: Annotated[str | None, typer.Option(help="Your name, used in greetings.")] = None,
) -> None:
    """Chat with the bot as a customer in this terminal (one message per line)."""
    settings = settings_from(ctx)
    user = user.strip()
    if not user or len(user) > 100:
        typer.echo("supportbot: --user must be 1 to 100 characters", err=True)
        raise typer.Exit(2)

    async def go() -> None:
        sender = TerminalSender(sys.stdout, settings.company.bot_name,
                                settings.privacy.export_folder)  # fmt: skip
        async with running_app(settings, senders={CHANNEL: sender}, address=user) as the_app:
            await run_chat(the_app, user, name, sender)

    run(go())


@db_app.command("upgrade")
def db_upgrade(ctx: typer.Context) -> None:
    """Create or upgrade the schema (needed once for PostgreSQL; SQLite does it itself)."""
    settings = settings_from(ctx)

    async def go() -> None:
        engine = create_engine(settings.database_url, busy_timeout_ms=settings.busy_timeout_ms)
        try:
            await upgrade(engine)
        finally:
            await engine.dispose()
        typer.echo("Database schema is up to date.")

    run(go())


db_app.command("current")(db_current)
db_app.command("copy")(db_copy)


def main() -> None:
    app()


if __name__ == "__main__":  # ``python -m bot.cli``, as ``supportbot serve`` starts its processes
    main()
