"""The Slack stack the bench drives: the HTTP mode of ``supportbot run slack`` (the real
bolt ``AsyncApp`` on ``/slack/events``, signature checks, the acknowledgement budget,
the pumped outbox), with the agents' desk in a Slack channel.

Slack's pace of about one message per second per channel is lifted
(``seconds_per_message=0``), for the same reason as Telegram's: the bench measures the
bot, not Slack's limits.
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import AsyncIterator

from aiohttp import web

from bot.bench.fake.slack import AGENTS, TOKEN
from bot.bench.remote import Stack
from bot.settings import Settings


@contextlib.asynccontextmanager
async def slack_stack(settings: Settings, api_url: str) -> AsyncIterator[Stack]:
    from bot.channels.slack.service import PATH, slack_service
    from bot.channels.slack.settings import SlackSettings

    secret = secrets.token_hex(16)
    slack = SlackSettings(
        bot_token=TOKEN, signing_secret=secret, agents_channel=AGENTS,
        api_url=api_url, app_token=None, seconds_per_message=0,
    )  # fmt: skip
    async with slack_service(settings, slack) as service:
        runner = web.AppRunner(service.web_app(), access_log=None)
        await runner.setup()
        try:
            await web.TCPSite(runner, "127.0.0.1", 0).start()
            host, port = runner.addresses[0][:2]
            yield Stack(service.app, "slack", "slack", f"http://{host}:{port}{PATH}",
                        {"signing_secret": secret})  # fmt: skip
        finally:
            await runner.cleanup()
