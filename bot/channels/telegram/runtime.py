"""The Telegram channel wired in one place: Bot (with pacing), Dispatcher and routers,
the outbox senders, and the loops that receive updates (``incoming``) and deliver the
outbox (``outgoing``).

With ``desk = "telegram"`` this process serves customers and the agents' forum group;
with any other desk it serves customers only, and the desk's own process posts the
notices while agents' replies reach us through the outbox, like every other reply.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime

from aiogram import Bot, Dispatcher
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramUnauthorizedError

from bot import loggers
from bot.app import App, running_app, utc_now
from bot.channels.telegram import customers, desk, fallback
from bot.channels.telegram.agents import Agents
from bot.channels.telegram.callbacks import CallbackSigner
from bot.channels.telegram.context import Context
from bot.channels.telegram.forums import KnownTopics, forum_places
from bot.channels.telegram.incoming import TOKEN_REJECTED, TRANSIENT, Inbound
from bot.channels.telegram.limits import Limiter, Limits, RateLimitMiddleware
from bot.channels.telegram.outgoing import Delivery
from bot.channels.telegram.session import BotApiSession
from bot.channels.telegram.settings import TelegramSettings
from bot.channels.telegram.topics import DESK, TopicSender
from bot.channels.telegram.translate import CHANNEL
from bot.delivery import Outbox
from bot.errors import ConfigError
from bot.health import Heartbeat
from bot.metrics import Figures, received
from bot.settings import Settings
from bot.shared_rate import shared_rate_for


@dataclass
class Runtime:
    app: App
    bot: Bot
    dispatcher: Dispatcher
    inbound: Inbound
    delivery: Delivery
    telegram: TelegramSettings
    heartbeat: Heartbeat

    async def run_polling(self) -> None:
        """Receive by long polling and deliver, until cancelled or a fatal error."""
        await self.check_token()
        # a poller's beats say when it last reached Telegram (never yet: since it started)
        since = self.heartbeat.since
        self.heartbeat.contact = lambda: self.inbound.reached or since
        receive = asyncio.create_task(self.inbound.poll(wait=self.telegram.polling_timeout))
        work = asyncio.create_task(self.run_besides())
        try:
            done, _ = await asyncio.wait({receive, work}, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                task.result()  # a fatal error (bad token, a second poller) ends the process
        finally:
            for task in (receive, work):
                task.cancel()
            await asyncio.gather(receive, work, return_exceptions=True)

    async def run_besides(self) -> None:
        """What runs beside receiving, until cancelled: delivery (and the timers) and
        the heartbeat."""
        async with asyncio.TaskGroup() as tasks:
            tasks.create_task(self.delivery.run())
            tasks.create_task(self.heartbeat.run())

    def figures(self) -> Figures:
        """What ``/metrics`` shows of this process."""
        outboxes = {"desk" if o.address else "customers": o for o in self.delivery.outboxes}
        return Figures(self.heartbeat, received(self.app.engine), outboxes)

    async def check_token(self) -> None:
        """Fail fast on a wrong token; if Telegram is unreachable, receiving retries."""
        try:
            await self.bot.get_me()
        except TelegramUnauthorizedError:
            raise ConfigError(TOKEN_REJECTED) from None
        except TRANSIENT as exc:
            loggers.channels.warning("telegram: getMe failed (%s); carrying on", exc)


def make_bot(telegram: TelegramSettings, limiter: Limiter) -> Bot:
    session = BotApiSession(
        api=TelegramAPIServer.from_base(telegram.api_url), timeout=telegram.request_timeout
    )
    session.middleware(RateLimitMiddleware(limiter))
    return Bot(telegram.token, session=session)


@asynccontextmanager
async def telegram_runtime(
    settings: Settings, telegram: TelegramSettings, *, limits: Limits | None = None,
    limiter: Limiter | None = None, now: Callable[[], datetime] = utc_now,
) -> AsyncIterator[Runtime]:  # fmt: skip
    """Everything for one process: customers always; the agents' forum group too when
    ``settings.desk`` is telegram (with another desk, its own process sends the notices
    and agents' replies reach us through the outbox)."""
    with_desk = settings.desk == DESK
    telegram.check_for(settings.desk, "polling")
    async with running_app(settings, now=now) as app:
        shared = shared_rate_for(settings, app.repo.engine)  # several sending processes
        bot = make_bot(telegram, limiter or Limiter(limits or Limits(), shared=shared))
        signer = CallbackSigner(telegram.token)
        outboxes = [Outbox(app.repo, {CHANNEL: customers.CustomerSender(bot, signer)}, now)]
        try:
            routers = [customers.router()]
            agents, places, known = None, None, None
            if with_desk and telegram.agents_chat_id is not None:
                places = forum_places(settings.routing.groups, telegram.agents_chat_id)
                known = KnownTopics()
                topics = TopicSender(bot, app.repo, signer, places, known)
                outboxes.append(Outbox(app.repo, {"desk": topics}, now, address=DESK))
                routers.append(desk.router(places.all))
                agents = Agents(bot, places.default)
            delivery = Delivery(outboxes, app)
            app.engine.committed.append(delivery.take)
            dispatcher = Dispatcher(disable_fsm=True)  # no FSM: the engine keeps the state
            dispatcher.include_routers(*routers, fallback.router())
            dispatcher["tg"] = Context(app, signer, agents, places, known)
            inbound = Inbound(bot, dispatcher, now)
            heartbeat = Heartbeat(app.repo, CHANNEL, now, every=settings.health.heartbeat_seconds)
            await heartbeat.start()
            yield Runtime(app, bot, dispatcher, inbound, delivery, telegram, heartbeat)
        finally:
            for outbox in outboxes:  # what is in flight stays pending for the next start
                await outbox.close()
            await bot.session.close()
            if shared is not None:
                await shared.close()
