"""``supportbot run slack``: serve Slack customers (and the agents' channel when the desk
is Slack) over HTTP on ``/slack/events``, or over Socket Mode when ``SLACK_APP_TOKEN`` is
set. slack-bolt is imported only when the command runs."""

from __future__ import annotations

from typing import Annotated

import typer


def command(
    ctx: typer.Context,
    port: Annotated[
        int, typer.Option(envvar="SLACK_PORT", min=1, max=65535, help="HTTP port to listen on.")
    ] = 3000,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "0.0.0.0",
) -> None:
    """Serve Slack: customers in direct messages, agents in a channel (one thread per case)."""
    from bot.channels.slack.server import serve
    from bot.cli import run, settings_from

    settings = settings_from(ctx)
    run(serve(settings, host=host, port=port))
