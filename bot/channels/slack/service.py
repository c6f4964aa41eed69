"""Putting the Slack channel together: one bolt ``AsyncApp`` for customers' direct
messages and, when the desk is Slack, the agents' channel; the outbox pump; the timers.

``slack_service`` is used by ``supportbot run slack`` and by the tests alike, so what is
tested is what runs. Events and button taps arrive on one path, ``/slack/events``.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import aiohttp
from aiohttp import web
from slack_bolt.app.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.web.async_client import AsyncWebClient

from bot import loggers
from bot.app import App, running_app, utc_now
from bot.channels.slack import customers
from bot.channels.slack.acks import Budget
from bot.channels.slack.agents import AgentDesk
from bot.channels.slack.desk import DESK, DeskSender
from bot.channels.slack.directory import Directory
from bot.channels.slack.gate import signed_and_readable
from bot.channels.slack.limits import Pacer
from bot.channels.slack.outbox import PumpedOutbox
from bot.channels.slack.posting import CardsInFlight
from bot.channels.slack.settings import SlackSettings, channel_id
from bot.channels.slack.translate import CHANNEL
from bot.channels.slack.web import SlackOut
from bot.delivery import Sender
from bot.health import Heartbeat
from bot.health_http import observe
from bot.metrics import Figures, received
from bot.notify import OUTBOX, kick_on_notify
from bot.runner import POLL_SECONDS, background
from bot.settings import Settings
from bot.shared_rate import shared_rate_for
from handoff.places import desk_places

PATH = "/slack/events"


@dataclass
class SlackService:
    app: App
    bolt: AsyncApp
    client: AsyncWebClient
    budget: Budget
    heartbeat: Heartbeat
    signing_secret: str

    def web_app(self) -> web.Application:
        """The aiohttp application serving ``/slack/events`` (events and interactivity)
        and ``GET /healthz``; requests are checked before bolt reads them (``gate``)."""
        served = self.bolt.web_app(path=PATH)
        served.middlewares.append(signed_and_readable(self.signing_secret, PATH))
        observe(served, CHANNEL, self.figures())
        return served

    def figures(self) -> Figures:
        """What ``/metrics`` shows of this process."""
        outbox = self.app.engine.outbox
        outboxes = {"customers": outbox} if outbox is not None else {}
        if isinstance(outbox, PumpedOutbox) and outbox.desk is not None:
            outboxes["desk"] = outbox.desk
        budget = self.budget
        gauges = {
            "supportbot_slack_unfinished_acks": (
                "Slack events acknowledged whose work still runs.",
                lambda: float(budget.unfinished)),
            "supportbot_slack_events_in_progress": (
                f"Slack events being processed (at most {budget.limit} before 503s).",
                lambda: float(budget.in_progress)),
        }  # fmt: skip
        refused = ("Slack events refused with 503 while too many were in progress.",
                   lambda: float(budget.refused))  # fmt: skip
        return Figures(self.heartbeat, received(self.app.engine), outboxes, gauges,
                       {"supportbot_slack_events_refused": refused})  # fmt: skip


@contextlib.asynccontextmanager
async def slack_service(
    settings: Settings, slack: SlackSettings, *, now: Callable[[], datetime] = utc_now,
    senders: Mapping[str, Sender] | None = None, poll: float = POLL_SECONDS,
) -> AsyncIterator[SlackService]:  # fmt: skip
    """The running Slack channel: background delivery and timers until the block ends.
    ``senders`` adds other customers' channels to deliver from this process (tests)."""
    # One HTTP session for every Web API call: without it slack_sdk opens (and closes) a
    # session, so a new connection (in production a TLS handshake too), per call.
    web_api = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=slack.request_timeout))
    async with web_api as http, running_app(settings, now=now) as app:
        client = AsyncWebClient(token=slack.bot_token.get_secret_value(), base_url=slack.api_url,
                                session=http, timeout=slack.request_timeout)  # fmt: skip
        shared = shared_rate_for(settings, app.repo.engine)  # several sending processes
        out = SlackOut(client, Pacer(slack.seconds_per_message, shared=shared))
        directory = Directory(client, slack.agents_channel)
        budget = Budget(slack.ack_budget_seconds, slack.max_events_in_progress)
        desk_sender, places = None, None
        cards = CardsInFlight()  # shared by the desk's sender and its agents' listener
        if settings.desk == DESK and slack.agents_channel:
            places = desk_places(settings.routing.groups, slack.agents_channel, channel_id,
                                 desk=DESK)  # fmt: skip
            desk_sender = DeskSender(out, app.repo, places, now, cards)
        customer_sender = customers.CustomerSender(out, f"{settings.company.name} support")
        outbox = PumpedOutbox(app.repo, {CHANNEL: customer_sender, **(senders or {})}, now,
                              desk=desk_sender, desk_address=DESK)  # fmt: skip
        app.engine.outbox = outbox
        secret = slack.signing_secret.get_secret_value() if slack.signing_secret else ""
        bolt = AsyncApp(
            client=client,
            signing_secret=secret,
            process_before_response=True,  # see acks.py: failures become Slack retries
            logger=loggers.channels.getChild("bolt"),
        )
        customers.register(bolt, app.engine, directory, out, budget)
        if places is not None:
            AgentDesk(bolt, app.desk, app.repo, directory, out, budget, places, now,
                      cards).register()  # fmt: skip
        _ignore_the_rest(bolt)
        heartbeat = Heartbeat(app.repo, CHANNEL, now, every=settings.health.heartbeat_seconds)
        await heartbeat.start()
        tasks = [asyncio.create_task(outbox.pump()),
                 asyncio.create_task(background(app.engine, poll=poll)),
                 asyncio.create_task(heartbeat.run())]  # fmt: skip
        if settings.processing == "workers":  # replies come from the workers
            tasks.append(asyncio.create_task(kick_on_notify(app.repo.engine, OUTBOX, outbox.wake)))
        try:
            yield SlackService(app, bolt, client, budget, heartbeat, secret)
        finally:
            await budget.drain()
            # Stop while holding a transaction: no task is then half-way through a
            # statement (on SQLite our transactions take turns), so none leaves its
            # connection to be torn down after the database is closed.
            async with app.repo.transaction():
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
                await outbox.stop()  # unsent messages stay pending for the next start
            await outbox.close()  # marks of what was sent: they need the writer we held
            if shared is not None:
                await shared.close()


def _ignore_the_rest(bolt: AsyncApp) -> None:
    """Events and taps nobody listens to are acknowledged with a log line: left
    unanswered, bolt would say 404 and Slack would retry them in vain."""

    async def other_event(body: dict[str, Any]) -> None:
        event = body.get("event") or {}
        loggers.channels.info(
            "slack: event %s (%s/%s) ignored", body.get("event_id"), event.get("type"),
            event.get("subtype") or event.get("channel_type") or "-",
        )  # fmt: skip

    async def other_action(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        loggers.channels.info("slack: %s interaction ignored", body.get("type"))

    bolt.event(re.compile(".*"))(other_event)
    bolt.action(re.compile(".*"))(other_action)
